#pragma once

// `stagecraft approve`, `reject` and `pending`: deciding a waiting gate from any account
// that can write the state directory, and listing the gates that wait. The decision is
// journaled; a run still attached (--wait-for-approval) picks it up, a detached one on
// `resume`. The approver is the account running the command, never a name given to it.

#include <nlohmann/json.hpp>
#include <string>

#include "runbook/model.h"

namespace stagecraft::cli {

struct DecisionFlags {
  std::string state_dir;  // --state, then as state_location.h resolves it
  std::string run;
  std::string step;
  std::string comment;  // approve --comment, reject --reason
  bool reject = false;
};

struct PendingFlags {
  std::string state_dir;  // --state, then as state_location.h resolves it
};

// The role that decides the gates of `step`: the step's own, else the first its gates name;
// "" when anyone may.
std::string GateRole(const runbook::Runbook& book, const runbook::Step& step);

// What a run keeps so its report can fill the sign-off table: each role of the table with
// the steps whose gates it decides.
nlohmann::json SignOffOption(const runbook::Runbook& book);

int DecideCommand(const DecisionFlags& flags);
int PendingCommand(const PendingFlags& flags);

}  // namespace stagecraft::cli
