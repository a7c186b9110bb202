#include "engine/observer.h"

namespace stagecraft::engine {

void Observers::OnNote(NoteLevel level, std::string_view text) {
  for (RunObserver* observer : observers_)
    observer->OnNote(level, text);
}

void Observers::OnRunPlanned(const runbook::Runbook& runbook,
                             const std::vector<const runbook::Step*>& flow) {
  for (RunObserver* observer : observers_)
    observer->OnRunPlanned(runbook, flow);
}

void Observers::OnStepStarted(const ItemRef& step, int total) {
  for (RunObserver* observer : observers_)
    observer->OnStepStarted(step, total);
}

void Observers::OnStepFinished(const ItemRef& step, const StepResult& result) {
  for (RunObserver* observer : observers_)
    observer->OnStepFinished(step, result);
}

void Observers::OnAttemptStarted(const ItemRef& item, int attempt) {
  for (RunObserver* observer : observers_)
    observer->OnAttemptStarted(item, attempt);
}

void Observers::OnProcessStarted(int64_t process_group, unsigned long long start_ticks) {
  for (RunObserver* observer : observers_)
    observer->OnProcessStarted(process_group, start_ticks);
}

void Observers::OnOutput(Stream stream, std::string_view bytes) {
  for (RunObserver* observer : observers_)
    observer->OnOutput(stream, bytes);
}

void Observers::OnAttemptFinished(const ItemRef& item, const AttemptEnd& end) {
  for (RunObserver* observer : observers_)
    observer->OnAttemptFinished(item, end);
}

void Observers::OnWaiting(const ItemRef& item, bool waiting) {
  for (RunObserver* observer : observers_)
    observer->OnWaiting(item, waiting);
}

void Observers::OnApproval(const ItemRef& item, const ApprovalEvent& approval) {
  for (RunObserver* observer : observers_)
    observer->OnApproval(item, approval);
}

void Observers::OnApprovalNeeded(const ItemRef& item, const std::string& step,
                                 std::string_view message) {
  for (RunObserver* observer : observers_)
    observer->OnApprovalNeeded(item, step, message);
}

void Observers::OnQuestion() {
  for (RunObserver* observer : observers_)
    observer->OnQuestion();
}

void Observers::OnScopeChanged(const nlohmann::json& scope) {
  for (RunObserver* observer : observers_)
    observer->OnScopeChanged(scope);
}

std::string Observers::Problem() const {
  for (const RunObserver* observer : observers_)
    if (std::string problem = observer->Problem(); !problem.empty()) return problem;
  return {};
}

std::string Observers::LostOutput() const {
  for (const RunObserver* observer : observers_)
    if (std::string lost = observer->LostOutput(); !lost.empty()) return lost;
  return {};
}

}  // namespace stagecraft::engine
