#include "runbook/parser.h"

#include <cmark-gfm-core-extensions.h>
#include <cmark-gfm-extension_api.h>
#include <cmark-gfm.h>
#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <cctype>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <tuple>
#include <unordered_map>

#include "base/text.h"
#include "runbook/alternatives.h"
#include "runbook/front_matter.h"
#include "runbook/rollback_rules.h"
#include "runbook/section_kind.h"
#include "runbook/section_reader.h"

namespace stagecraft::runbook {

const ApproverRole* Runbook::FindRole(std::string_view role) const {
  for (const auto& declared : front_matter.approvers)
    if (declared.role == role) return &declared;
  return nullptr;
}

Action Runbook::BlockAction(const Block& block) const {
  Action action;
  action.block = block;
  if (auto found = block_attributes.find(block.pos.line); found != block_attributes.end())
    action.attributes = found->second;
  return action;
}

PromptEnv Runbook::PromptEnvOf(const Attributes& attributes) const {
  if (attributes.prompt_env != PromptEnv::kUnset) return attributes.prompt_env;
  return front_matter.runme_notebook ? PromptEnv::kAuto : PromptEnv::kNever;
}

const GateSpec* Runbook::BlockGate(const Action& action) const {
  auto gate = block_gates.find(action.block.pos.line);
  return gate == block_gates.end() ? nullptr : &gate->second;
}

std::string_view Runbook::GateRole(const Step& step, const Action* action) const {
  if (const GateSpec* gate = action ? BlockGate(*action) : nullptr; gate && !gate->role.empty())
    return gate->role;
  auto gate = step_gates.find(step.pos.line);
  return gate == step_gates.end() ? std::string_view() : std::string_view(gate->second.role);
}

const Environment* Runbook::FindEnvironment(const std::string& name) const {
  for (const auto& environment : front_matter.environments)
    if (environment.name == name) return &environment;
  return nullptr;
}

namespace {

// Static, so that an interpreter can be a view of its language's name.
const std::set<std::string_view>& ExecutableLanguages() {
  static const std::set<std::string_view> languages = {
      "bash", "sh", "shell", "zsh", "ksh", "dash", "python", "python3", "node", "ruby", "perl"};
  return languages;
}

}  // namespace

bool IsExecutableLanguage(std::string_view language) {
  return ExecutableLanguages().count(language) > 0;
}

std::string_view InterpreterFor(std::string_view language, std::string_view shell) {
  auto found = ExecutableLanguages().find(language);
  if (found == ExecutableLanguages().end()) return "";
  if (language == "shell") return shell;
  if (language == "python") return "python3";
  return *found;
}

namespace {

struct ParserDeleter {
  void operator()(cmark_parser* parser) const { cmark_parser_free(parser); }
};

struct NodeDeleter {
  void operator()(cmark_node* node) const { cmark_node_free(node); }
};

// What a heading says by its text alone.
struct Heading {
  int level = 0;      // 0: no heading (the blocks before the first one)
  std::string title;  // as written, budget included
  std::string title_without_budget;
  std::optional<Millis> budget;
  SectionKind title_kind = SectionKind::kNormal;  // ClassifyTitle(title)
  SourcePos pos;
};

// A heading and the top-level blocks under it, up to the next heading.
struct FoundSection {
  Heading heading;
  std::vector<cmark_node*> content;
  size_t leading_html = 0;  // HTML blocks at the start of `content`: maybe directives
};

// A heading on the open path (or the blocks before the first heading): only the path is
// kept, since a section needs no more than its ancestors once its own step is built.
struct Section {
  Heading heading;
  Directives directives;
  SectionKind kind = SectionKind::kNormal;
  bool skip = false;
  bool titles_runbook = false;  // the first H1, which gave the runbook its title
  int phase = -1;               // of the steps under it, once one is built
  int id = 0;                   // distinct for every heading of the document
  // Rollback scoping, inherited by sub-sections: the section on the path whose `after=`
  // words apply, and the one titled as an alternative that this one is (or is under), or -1.
  int after = -1;
  int alternative = -1;
  size_t first_step = 0;  // the index in Runbook::steps of the first step under it
};

class Builder {
 public:
  Builder(ParseResult& result, TextStore& store)
      : result_(result), runbook_(result.runbook), store_(store), reader_(result, store) {}

  // The Markdown body is `text`; its line 1 is line `body_offset + 1` of the file.
  void Begin(std::string_view text, int body_offset);
  // Builds the sections of one piece of the body, split at its headings (`found`, whose
  // contents it takes); the piece's line 1 is line `line_offset + 1` of the file. A piece
  // ends where the next begins, before a heading, so its sections are complete and built
  // at once: the caller may free the piece's tree afterwards.
  void AddPiece(std::vector<FoundSection>& found, int line_offset);
  void Finish();

 private:
  void OpenSection(FoundSection& found, bool titles_runbook);
  void ScopeSection(Section& section, const Section* previous);
  // Makes steps [first, end) an alternative of `group`, titled by `heading`'s section: a
  // fallback names the alternative it stands in for.
  void MakeAlternative(const Section& heading, size_t first, size_t end, int group);
  void ScopeStep(const Section& section, Step& step);
  void BuildSection(std::span<cmark_node* const> content);
  void NoteDocumentation(const Section& section);
  int PhaseOfParent();
  void AssignNames();
  void CheckBlockNames();
  void CheckRoles();
  void MarkPreflight();

  ParseResult& result_;
  Runbook& runbook_;
  TextStore& store_;
  SectionReader reader_;
  std::vector<Section> path_;  // from the blocks before the first heading to the current one
  std::vector<bool> name_is_explicit_;
  int sections_opened_ = 0;
};

// "Deploy (5 minutes) — blue/green" -> budget 5 minutes, title "Deploy — blue/green".
std::optional<Millis> SplitBudget(const std::string& heading, std::string& title) {
  size_t begin = std::string::npos;
  size_t end = std::string::npos;
  std::optional<Millis> budget = FindHeadingBudget(heading, &begin, &end);
  if (!budget) {
    title = heading;
    return budget;
  }
  std::string before = Trim(std::string_view(heading).substr(0, begin));
  std::string after = Trim(std::string_view(heading).substr(end));
  title = before.empty() ? after : after.empty() ? before : before + " " + after;
  return budget;
}

std::string FileStem(std::string_view path) {
  std::string_view name = path.substr(path.find_last_of('/') + 1);
  return std::string(name.substr(0, name.rfind('.')));
}

void Builder::OpenSection(FoundSection& found, bool titles_runbook) {
  // The last section closed here is the new one's previous sibling.
  std::optional<Section> previous;
  while (path_.size() > 1 && path_.back().heading.level >= found.heading.level) {
    previous = std::move(path_.back());
    path_.pop_back();
  }
  const Section& parent = path_.back();
  Section section{std::move(found.heading)};
  section.titles_runbook = titles_runbook;
  size_t next = 0;
  for (; next < found.leading_html; ++next) {
    cmark_node* node = found.content[next];
    if (!ParseDirective(cmark_node_get_literal(node), reader_.PosOf(node), section.directives,
                        result_.diagnostics))
      break;
  }
  found.content.erase(found.content.begin(), found.content.begin() + next);
  // The document's title names the whole runbook ("# Rollback drill for orders"); its words
  // must not turn every section under it into documentation or rollback.
  SectionKind by_title = titles_runbook ? SectionKind::kNormal : section.heading.title_kind;
  SectionKind own = section.directives.kind.value_or(by_title);
  section.kind = own != SectionKind::kNormal ? own : parent.kind;
  section.skip = section.directives.skip || parent.skip;
  section.first_step = runbook_.steps.size();
  ScopeSection(section, previous ? &*previous : nullptr);
  path_.push_back(std::move(section));
}

// Called before `section` joins the path, whose last entry is its parent.
void Builder::ScopeSection(Section& section, const Section* previous) {
  const Section& parent = path_.back();
  int index = static_cast<int>(path_.size());
  section.id = ++sections_opened_;
  const Directives& directives = section.directives;
  section.after = directives.after.empty() ? parent.after : index;
  std::string_view title = section.heading.title_without_budget;
  bool may_choose = !section.titles_runbook && (section.kind == SectionKind::kRollback ||
                                                section.kind == SectionKind::kNormal);
  bool fallback = may_choose && IsFallbackTitle(title);
  bool alternative = may_choose && (fallback || IsAlternativeTitle(title));
  section.alternative = alternative ? index : parent.alternative;
  // A fallback stands in for the section before it, whatever that one's title; the first
  // sub-section of a section stands in for the blocks under that section's own heading.
  // (A previous sibling that is an alternative already has the fallback join its group.)
  if (fallback && previous && previous->kind == section.kind && previous->alternative < 0)
    MakeAlternative(*previous, previous->first_step, runbook_.steps.size(), parent.id);
  if (fallback && !previous && index > 1 && parent.alternative < 0 &&
      parent.first_step < runbook_.steps.size() &&
      runbook_.steps[parent.first_step].pos.line == parent.heading.pos.line)
    MakeAlternative(parent, parent.first_step, parent.first_step + 1, parent.id);
  if (!directives.after.empty() && section.kind != SectionKind::kRollback)
    reader_.Warn(directives.after_pos.front(),
                 "'after=' scopes a section of the rollback procedure; this section is not one, "
                 "so it is ignored",
                 "put it under the heading of a section of the rollback procedure");
  if (directives.is_default && !alternative)
    reader_.Warn(directives.default_pos,
                 "'default' marks one of several alternatives; this section is not titled as "
                 "one, so it is ignored",
                 "title the alternatives 'Option 1: …', 'Option 2: …' under one heading");
}

void Builder::MakeAlternative(const Section& heading, size_t first, size_t end, int group) {
  for (size_t i = first; i < end; ++i) {
    SectionScope& scope = runbook_.steps[i].mutable_scope();
    scope.alternative_title = heading.heading.title_without_budget;
    scope.alternative_pos = heading.heading.pos;
    scope.alternative_group = group;
    scope.marked_default = heading.directives.is_default;
    scope.default_pos = heading.directives.default_pos;
  }
}

void Builder::ScopeStep(const Section& section, Step& step) {
  if (step.kind != StepKind::kRollback && section.alternative < 0) return;
  SectionScope& scope = step.mutable_scope();
  if (section.after >= 0 && step.kind == StepKind::kRollback) {
    scope.after = path_[section.after].directives.after;
    scope.after_pos = path_[section.after].directives.after_pos;
  }
  if (section.alternative < 0) return;
  const Section& alternative = path_[section.alternative];
  scope.alternative_title = alternative.heading.title_without_budget;
  scope.alternative_pos = alternative.heading.pos;
  scope.alternative_group = path_[section.alternative - 1].id;
  scope.marked_default = alternative.directives.is_default;
  scope.default_pos = alternative.directives.default_pos;
}

// The phase of the current section's steps: its parent heading, listed once it has one.
int Builder::PhaseOfParent() {
  if (path_.size() < 3) return -1;  // no parent heading
  Section& parent = path_[path_.size() - 2];
  if (parent.phase < 0) {
    runbook_.phases.push_back(
        {parent.heading.title_without_budget, parent.heading.pos, parent.heading.budget});
    parent.phase = static_cast<int>(runbook_.phases.size()) - 1;
  }
  return parent.phase;
}

void Builder::NoteDocumentation(const Section& section) {
  if (path_.size() == 1) return;  // the text before the first heading
  runbook_.documentation.push_back(
      {store_.Keep(section.heading.title_without_budget, reader_.Line(section.heading.pos.line)),
       section.heading.pos});
}

// "Next Steps" with every box ticked and nothing to run: a record of what was done.
bool IsDoneToDoList(const Step& step) {
  std::function<bool(const std::vector<ChecklistItem>&)> all_ticked =
      [&](const std::vector<ChecklistItem>& items) {
        return std::all_of(items.begin(), items.end(), [&](const ChecklistItem& item) {
          return item.ticked_in_source && item.actions.empty() && all_ticked(item.children);
        });
      };
  return step.kind == StepKind::kStep && step.actions.empty() && step.compensation.empty() &&
         !step.checklist.empty() && IsToDoTitle(step.title) && all_ticked(step.checklist);
}

void Builder::BuildSection(std::span<cmark_node* const> content) {
  const Section& section = path_.back();
  bool before_headings = path_.size() == 1;
  if (section.kind == SectionKind::kDocumentation) {
    if (path_[path_.size() - 2].kind != SectionKind::kDocumentation) NoteDocumentation(section);
    return;
  }
  if (section.kind == SectionKind::kSignOff) return reader_.ReadSignOff(content);
  Step step;
  step.budget = section.heading.budget;
  if (before_headings) {
    std::string title = runbook_.title.empty() ? FileStem(runbook_.path) : runbook_.title;
    step.title = store_.Keep(title, {});
  } else {
    step.title =
        store_.Keep(section.heading.title_without_budget, reader_.Line(section.heading.pos.line));
  }
  step.pos =
      before_headings && !content.empty() ? reader_.PosOf(content.front()) : section.heading.pos;
  step.manual = section.directives.manual;
  step.skip = section.skip;
  step.timeout = section.directives.timeout;
  if (section.directives.name) step.name = *section.directives.name;
  switch (section.kind) {
    case SectionKind::kRollback:
      step.kind = StepKind::kRollback;
      break;
    case SectionKind::kSuccessCriteria:
      step.kind = StepKind::kSuccessCriteria;
      break;
    default:
      step.kind = section.directives.preflight ? StepKind::kPreflight : StepKind::kStep;
  }
  if (step.kind == StepKind::kRollback || step.kind == StepKind::kStep) ScopeStep(section, step);
  reader_.Read(content, step);
  if (step.actions.empty() && step.checklist.empty() && step.compensation.empty()) return;
  if (IsDoneToDoList(step)) return NoteDocumentation(section);
  if (section.directives.role)
    runbook_.step_gates[step.pos.line] = {*section.directives.role, section.directives.role_pos,
                                          ""};
  step.idempotent = section.directives.idempotent ||
                    (!step.actions.empty() &&
                     std::all_of(step.actions.begin(), step.actions.end(),
                                 [](const Action& a) { return a.attributes.idempotent; }));
  step.phase = PhaseOfParent();
  name_is_explicit_.push_back(!step.name.empty());
  runbook_.steps.push_back(std::move(step));
}

// "Step 2: Deploy", "1.3 Deploy", "Phase 2 - Deploy" -> "Deploy": the numbering is for
// readers; names stay stable when steps are renumbered.
std::string_view WithoutNumbering(std::string_view title) {
  std::string_view rest = TrimView(title);
  auto starts_with_word = [&](std::string_view word) {
    if (rest.size() <= word.size() || rest[word.size()] != ' ') return false;
    for (size_t i = 0; i < word.size(); ++i)
      if ((rest[i] | 0x20) != word[i]) return false;  // ASCII letters, any case
    return true;
  };
  for (std::string_view word : {"step", "phase", "stage", "part", "test"}) {
    if (starts_with_word(word)) {
      std::string_view after = TrimView(rest.substr(word.size()));
      if (!after.empty() && std::isdigit(static_cast<unsigned char>(after[0]))) rest = after;
      break;
    }
  }
  bool after_keyword = rest.data() != TrimView(title).data();
  size_t pos = 0;
  while (pos < rest.size() &&
         (std::isdigit(static_cast<unsigned char>(rest[pos])) || rest[pos] == '.'))
    ++pos;
  if (pos == 0) return title;
  // "30 Minutes Before" is a title, not a number: bare numbering ends in '.', ':' or ')',
  // or is dotted like a section number ("1.3 Deploy").
  bool dotted = rest.substr(0, pos).find('.') != std::string_view::npos;
  bool punctuated = dotted || rest[pos - 1] == '.' ||
                    (pos < rest.size() && (rest[pos] == ':' || rest[pos] == ')'));
  if (!after_keyword && !punctuated) return title;
  while (pos < rest.size() &&
         (rest[pos] == ':' || rest[pos] == ')' || rest[pos] == '-' || rest[pos] == ' '))
    ++pos;
  std::string_view stripped = rest.substr(pos);
  return stripped.empty() ? title : stripped;
}

// Names in use, each held by the first id (an index into the model) that used it: an
// open-addressing table of ids, a few bytes per name where a map node costs tens.
class NameTable {
 public:
  using NameOf = std::function<std::string_view(uint32_t id)>;
  // Room for `count` ids.
  NameTable(size_t count, NameOf name_of)
      : slots_(std::bit_ceil(2 * count + 1), kEmpty), name_of_(std::move(name_of)) {}
  std::optional<uint32_t> Find(std::string_view name) {
    uint32_t slot = Slot(name);
    return slot == kEmpty ? std::nullopt : std::optional(slot);
  }
  // Gives `id` its name unless an earlier id holds it; returns the id that holds it.
  uint32_t Add(uint32_t id) {
    uint32_t& slot = Slot(name_of_(id));
    if (slot == kEmpty) slot = id;
    return slot;
  }

 private:
  static constexpr uint32_t kEmpty = UINT32_MAX;
  uint32_t& Slot(std::string_view name) {
    size_t mask = slots_.size() - 1;
    for (size_t i = std::hash<std::string_view>{}(name)&mask;; i = (i + 1) & mask)
      if (slots_[i] == kEmpty || name_of_(slots_[i]) == name) return slots_[i];
  }

  std::vector<uint32_t> slots_;
  NameOf name_of_;
};

void Builder::AssignNames() {
  std::vector<Step>& steps = runbook_.steps;
  NameTable taken(steps.size(), [&](uint32_t i) -> std::string_view { return steps[i].name; });
  std::unordered_map<std::string, int> next_suffix;
  for (uint32_t i = 0; i < steps.size(); ++i) {
    if (!name_is_explicit_[i]) continue;
    if (uint32_t first = taken.Add(i); first != i)
      reader_.Error(steps[i].pos,
                    fmt::format("duplicate step name '{}' (first used at line {})", steps[i].name,
                                steps[first].pos.line),
                    "step names identify steps in logs, resume and reports; make each one unique");
  }
  for (uint32_t i = 0; i < steps.size(); ++i) {
    Step& step = steps[i];
    if (name_is_explicit_[i]) continue;
    std::string base = Slugify(WithoutNumbering(step.title));
    if (base.empty()) base = "step";
    std::string name = base;
    if (taken.Find(name)) {
      // Remember the last suffix per base so a thousand "Verify" steps stay linear.
      int& suffix = next_suffix[base];
      if (suffix == 0) suffix = 2;
      while (taken.Find(name))
        name = fmt::format("{}-{}", base, suffix++);
    }
    if (name != base)
      reader_.Warn(
          step.pos,
          fmt::format("duplicate step name '{}' (first used at line {}); this one is called '{}'",
                      base, steps[*taken.Find(base)].pos.line, name),
          "give the step its own name with <!-- stagecraft: name=... --> after the heading");
    step.name = std::move(name);
    taken.Add(i);
  }
}

// Action names must be unique too: logs and captures refer to them.
void Builder::CheckBlockNames() {
  std::vector<const Action*> named;
  for (const Step& step : runbook_.steps)
    for (const Action& action : step.actions)
      if (action.attributes.name) named.push_back(&action);
  NameTable names(named.size(),
                  [&](uint32_t i) -> std::string_view { return *named[i]->attributes.name; });
  for (uint32_t i = 0; i < named.size(); ++i)
    if (uint32_t first = names.Add(i); first != i)
      reader_.Error(named[i]->block.pos,
                    fmt::format("duplicate block name '{}' (first used at line {})",
                                *named[i]->attributes.name, named[first]->block.pos.line));
}

// A gate naming a role nobody declared could never be approved: found before anything runs.
void Builder::CheckRoles() {
  std::vector<std::string> declared;
  for (const ApproverRole& role : runbook_.front_matter.approvers)
    declared.push_back(role.role);
  auto check = [&](std::string_view role, SourcePos pos) {
    if (runbook_.FindRole(role)) return;
    std::optional<std::string> suggestion = ClosestMatch(std::string(role), declared);
    std::string hint =
        declared.empty()
            ? "declare it in the front matter: 'approvers: {ROLE: [account, ...]}'"
            : fmt::format("the front matter's approvers declare {}", fmt::join(declared, ", "));
    reader_.Error(pos,
                  suggestion
                      ? fmt::format("unknown role '{}'; did you mean '{}'?", role, *suggestion)
                      : fmt::format("unknown role '{}'", role),
                  hint);
  };
  for (const auto* gates : {&runbook_.step_gates, &runbook_.block_gates})
    for (const auto& [line, gate] : *gates)
      if (!gate.role.empty()) check(gate.role, gate.role_pos);
}

void Builder::MarkPreflight() {
  // A checklist before the first step that does something is the preflight: it all runs
  // before anything changes.
  for (Step& step : runbook_.steps) {
    if (step.kind != StepKind::kStep) continue;
    if (!step.actions.empty()) break;
    step.kind = StepKind::kPreflight;
  }
  // "Approval required from: Security, DevOps" as a checklist: nobody should start the
  // work before those boxes are confirmed, wherever the section stands.
  for (Step& step : runbook_.steps)
    if (step.kind == StepKind::kStep && step.actions.empty() && !step.checklist.empty() &&
        IsApprovalTitle(step.title))
      step.kind = StepKind::kPreflight;
}

void Builder::Begin(std::string_view text, int body_offset) {
  reader_.Begin(text, body_offset);
  path_.emplace_back();  // the blocks before the first heading
}

void Builder::AddPiece(std::vector<FoundSection>& found, int line_offset) {
  reader_.SetPiece(line_offset);
  // The first H1 titles the runbook, and the blocks before it (built first) take that title.
  FoundSection* title = nullptr;
  if (runbook_.title.empty()) {
    auto h1 = std::find_if(found.begin(), found.end(),
                           [](const FoundSection& f) { return f.heading.level == 1; });
    if (h1 != found.end()) {
      title = &*h1;
      runbook_.title = title->heading.title;
    }
  }
  for (FoundSection& section : found) {
    if (section.heading.level > 0) OpenSection(section, &section == title);
    BuildSection(section.content);
  }
}

void Builder::Finish() {
  AssignNames();
  CheckBlockNames();
  CheckRoles();
  MarkPreflight();
  ResolveAlternatives(runbook_, result_.diagnostics);
  CheckRollbackScopes(runbook_, result_.diagnostics);
}

using Document = std::unique_ptr<cmark_node, NodeDeleter>;

// A large document is parsed a piece of about this size at a time, and each piece's tree
// is freed once it is built: a cmark tree is many times larger than its text, so peak
// memory stays a small multiple of the runbook instead of growing with the whole tree.
constexpr size_t kPieceBytes = 1 << 16;

Document ParseMarkdown(std::string_view text) {
  cmark_gfm_core_extensions_ensure_registered();
  std::unique_ptr<cmark_parser, ParserDeleter> parser(cmark_parser_new(CMARK_OPT_SOURCEPOS));
  for (const char* name : {"tasklist", "table"})
    if (cmark_syntax_extension* extension = cmark_find_syntax_extension(name))
      cmark_parser_attach_syntax_extension(parser.get(), extension);
  cmark_parser_feed(parser.get(), text.data(), text.size());
  return Document(cmark_parser_finish(parser.get()));
}

// Splits the document's top-level blocks at its headings (see FoundSection).
std::vector<FoundSection> FindSections(cmark_node* document, int line_offset) {
  std::vector<FoundSection> found(1);  // the blocks before the first heading
  for (cmark_node* node = cmark_node_first_child(document); node; node = cmark_node_next(node)) {
    cmark_node_type type = cmark_node_get_type(node);
    if (type != CMARK_NODE_HEADING) {
      FoundSection& current = found.back();
      if (type == CMARK_NODE_HTML_BLOCK && current.leading_html == current.content.size())
        ++current.leading_html;
      current.content.push_back(node);
      continue;
    }
    Heading& heading = found.emplace_back().heading;
    heading.level = cmark_node_get_heading_level(node);
    heading.title = PlainText(node);
    heading.budget = SplitBudget(heading.title, heading.title_without_budget);
    heading.title_kind = ClassifyTitle(heading.title);
    heading.pos = {cmark_node_get_start_line(node) + line_offset,
                   cmark_node_get_start_column(node)};
  }
  if (found.front().content.empty()) found.erase(found.begin());
  return found;
}

// Link reference definitions (`[label]: url`) apply to the whole document, so a document
// that may hold one is parsed in one piece. Conservative: anything at the start of a line
// (after list and quote markers) that opens a bracket and does not close it as a task box.
bool MayDefineLinkReferences(std::string_view text) {
  for (size_t colon = text.find("]:"); colon != std::string_view::npos;
       colon = text.find("]:", colon + 2)) {
    size_t line_start = text.rfind('\n', colon);
    line_start = line_start == std::string_view::npos ? 0 : line_start + 1;
    std::string_view before = text.substr(line_start, colon - line_start);
    size_t open = before.find('[');
    if (open == std::string_view::npos) return true;  // a label may span lines
    if (before.find_first_not_of(" \t>-*+0123456789.)") == open) return true;
  }
  return false;
}

// The start of the first line after `from` that opens an ATX heading, or npos.
size_t NextHeadingLine(std::string_view text, size_t from) {
  for (size_t at = text.find("\n#", from); at != std::string_view::npos;
       at = text.find("\n#", at + 1)) {
    size_t hashes = 0;
    while (at + 1 + hashes < text.size() && text[at + 1 + hashes] == '#')
      ++hashes;
    char after = at + 1 + hashes < text.size() ? text[at + 1 + hashes] : '\n';
    if (hashes <= 6 && (after == ' ' || after == '\t' || after == '\r' || after == '\n'))
      return at + 1;
  }
  return std::string_view::npos;
}

int CountLines(std::string_view text) {
  return static_cast<int>(std::count(text.begin(), text.end(), '\n'));
}

// Parses `body` piece by piece and builds each. A cut before a heading line is kept only
// when cmark, given the piece plus that line, ends the piece with a top-level heading on
// it: then nothing (a fence, an HTML block, a list, a quote) is open across the cut, and
// the pieces parse exactly as the whole body would. Otherwise the piece grows.
void ParseInPieces(std::string_view body, int line_offset, size_t piece_bytes, Builder& builder) {
  bool cuttable = body.size() > piece_bytes && !MayDefineLinkReferences(body);
  size_t start = 0;
  while (start < body.size()) {
    size_t cut = cuttable ? NextHeadingLine(body, start + piece_bytes) : std::string_view::npos;
    for (; cut != std::string_view::npos; cut = NextHeadingLine(body, start + 2 * (cut - start))) {
      size_t heading_end = body.find('\n', cut);
      heading_end = heading_end == std::string_view::npos ? body.size() : heading_end + 1;
      Document document = ParseMarkdown(body.substr(start, heading_end - start));
      int piece_lines = CountLines(body.substr(start, cut - start));
      cmark_node* last = cmark_node_last_child(document.get());
      if (!last || cmark_node_get_type(last) != CMARK_NODE_HEADING ||
          cmark_node_get_start_line(last) != piece_lines + 1)
        continue;
      cmark_node_free(last);  // the next piece's first line, parsed only to prove the cut
      std::vector<FoundSection> found = FindSections(document.get(), line_offset);
      builder.AddPiece(found, line_offset);
      line_offset += piece_lines;
      start = cut;
      break;
    }
    if (cut == std::string_view::npos) {
      Document document = ParseMarkdown(body.substr(start));
      std::vector<FoundSection> found = FindSections(document.get(), line_offset);
      builder.AddPiece(found, line_offset);
      return;
    }
  }
}

ParseResult Parse(std::string path, std::string_view source, std::shared_ptr<const void> owner,
                  size_t piece_bytes) {
  ParseResult result;
  Runbook& runbook = result.runbook;
  runbook.path = std::move(path);
  auto store = std::make_shared<TextStore>(source, std::move(owner));
  runbook.text_store = store;

  FrontMatterSplit split = SplitFrontMatter(source);
  ParseFrontMatter(split, runbook.front_matter, result.diagnostics);
  // The Markdown starts after the front matter; its line numbers continue the file's.
  bool has_front_matter = split.present && split.terminated;
  std::string_view body = has_front_matter ? source.substr(split.body_offset) : source;
  int body_line_offset = has_front_matter ? split.end_line : 0;

  // Title: front matter, else the first H1 (found while building), else the file name.
  runbook.title = runbook.front_matter.title;
  Builder builder(result, *store);
  builder.Begin(body, body_line_offset);
  ParseInPieces(body, body_line_offset, piece_bytes, builder);
  builder.Finish();
  if (runbook.title.empty()) runbook.title = FileStem(runbook.path);
  std::stable_sort(result.diagnostics.begin(), result.diagnostics.end(),
                   [](const Diagnostic& a, const Diagnostic& b) {
                     return std::tie(a.pos.line, a.pos.column) < std::tie(b.pos.line, b.pos.column);
                   });
  return result;
}

ParseResult ParseCopy(std::string path, std::string_view source, size_t piece_bytes) {
  auto copy = std::make_shared<const std::string>(source);
  return Parse(std::move(path), *copy, copy, piece_bytes);
}

}  // namespace

ParseResult ParseRunbook(std::string path, std::string_view source,
                         std::shared_ptr<const void> owner) {
  return Parse(std::move(path), source, std::move(owner), kPieceBytes);
}

ParseResult ParseRunbook(std::string path, std::string_view source) {
  return ParseCopy(std::move(path), source, kPieceBytes);
}

ParseResult ParseRunbook(std::string path, std::string_view source, size_t piece_bytes) {
  return ParseCopy(std::move(path), source, piece_bytes);
}

}  // namespace stagecraft::runbook
