#pragma once

// The Runbook model: what a Markdown deployment guide means once parsed. Plain value types;
// a Runbook owns everything it refers to and is safe to share read-only between threads.
// Code, expected lines and most other texts are views into the Runbook's TextStore
// (text_store.h), which its copies share.

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/duration.h"
#include "base/vocabulary.h"
#include "runbook/expectation.h"
#include "runbook/text_store.h"

namespace stagecraft::runbook {

// 1-based line and column (bytes) in the runbook file. line == 0 means "no position".
struct SourcePos {
  int line = 0;
  int column = 0;
};

// Runme's `promptEnv`: which `export NAME=VALUE` lines of a block are inputs whose written
// value is the default (runbook/inputs.h). kUnset: the notebook's default (auto in a Runme
// notebook, that is with `runme:` in the front matter; never elsewhere).
enum class PromptEnv : unsigned char { kUnset, kNever, kAuto, kAlways };

// Attributes from a fenced block's info string (`bash { name=x timeout=5m }`).
// Their texts are in the TextStore.
struct Capture {
  std::string_view variable;
  std::optional<std::string_view> regex;  // first group (or whole match) of the first match
};

struct Attributes {
  std::optional<std::string_view> name;
  std::optional<std::string_view> cwd;
  std::optional<Capture> capture;
  std::optional<Millis> timeout;
  // How long a command that never ends on its own (`tail -f`) runs before it is stopped,
  // counting as success; command_needs.h finds them. Unset: kDefaultStreamWindow.
  std::optional<Millis> stream;
  Millis delay{0};
  int retries = 0;
  bool until = false;  // retry until success within `timeout`
  bool confirm = false;
  bool idempotent = false;
  bool ignore = false;  // failure does not fail the step
  bool skip = false;
  bool interactive = false;
  bool background = false;
  PromptEnv prompt_env = PromptEnv::kUnset;
  // `role` and `prompt` are in Runbook::block_gates: few blocks have them.
};

// A fenced code block as written. Its texts are in the TextStore, or static.
struct Block {
  std::string_view language;  // lower-cased first word of the info string; may be empty
  // The program that runs it ("bash", "sh", "python3"...), resolved once by the parser;
  // the front matter's shell for `console` transcripts; "" when the block does not run.
  std::string_view interpreter;
  std::string_view text;  // contents, each line ending in '\n'
  SourcePos pos;          // the opening fence
  int first_line = 0;     // line of the first content line
};

// One prompted command of a transcript block (`$ terraform validate` and what follows it).
struct TranscriptCommand {
  std::string command;  // prompt removed, `> ` continuation lines joined with '\n'
  std::vector<ExpectedLine> expected;
  SourcePos pos;
};

struct Expectation {
  std::vector<ExpectedLine> lines;
  SourcePos pos;
};

// An executable fenced block and everything bound to it by bold labels.
struct Action {
  Block block;
  Attributes attributes;
  std::vector<TranscriptCommand> transcript;  // non-empty for `$ `-prompted blocks
  std::vector<Expectation> expectations;      // **Expected Output:** blocks
  std::vector<Block> verifications;           // **Verification:** blocks, run after it
  std::vector<Expectation> red_flags;         // lines that must not appear in the output
  bool is_transcript() const { return !transcript.empty(); }
};

// A checklist item (`- [ ] text`). With an action nested under it, it is a check; without,
// a manual confirmation; with checklist children, a group that passes when they all do.
struct ChecklistItem {
  std::string text;
  bool ticked_in_source = false;  // informational only: ticks are earned at run time
  SourcePos pos;
  std::vector<Action> actions;
  std::vector<ChecklistItem> children;
  bool is_check() const { return !actions.empty(); }
  bool is_group() const { return actions.empty() && !children.empty(); }
  bool is_manual() const { return actions.empty() && children.empty(); }
};

// Where a section applies, from its heading's title and directives or a parent's: the
// `after=` scope of a section of the rollback procedure, and the group of alternatives a
// section of either flow belongs to (alternatives.h). Empty for other steps.
struct SectionScope {
  // `after=NAME`: the section undoes the work of these steps of the normal flow and runs only
  // when one of them ran. Empty: it runs once any step that changes things ran.
  std::vector<std::string> after;
  std::vector<SourcePos> after_pos;  // where each name is written
  // Sibling sections titled as options ("Option 1: …", "Alternative…", "… (optional)") or as
  // a fallback ("If the script fails", with the section before it) are alternatives: one of
  // them runs. Empty `alternative` outside such a group.
  std::string alternative;        // the alternative's name, for --choose
  std::string alternative_title;  // its heading, which may hold several steps
  SourcePos alternative_pos;      // that heading
  int alternative_group = -1;     // alternatives with the same group exclude each other
  bool is_default = false;        // runs unless --choose picks another of its group
  bool marked_default = false;    // the `default` directive word; `default_pos` is where
  SourcePos default_pos;
};

struct Step {
  std::string name;        // unique, typeable: `<!-- stagecraft: name=... -->` or a slug of title
  std::string_view title;  // heading text without the budget; in the TextStore
  SourcePos pos;
  int phase = -1;  // index into Runbook::phases, -1 when the step has no parent heading
  StepKind kind = StepKind::kStep;
  std::optional<Millis> budget;
  std::optional<Millis> timeout;  // `<!-- stagecraft: timeout=... -->`
  bool manual = false;            // shown to the operator, confirmed, never executed
  // Safe to run again when a resumed run finds it was interrupted mid-way:
  // `<!-- stagecraft: idempotent -->`, or every action of the step is marked `idempotent`.
  bool idempotent = false;
  bool skip = false;
  std::vector<Action> actions;
  std::vector<ChecklistItem> checklist;
  std::vector<Block> compensation;          // **Rollback:** blocks, run if a later step fails
  std::vector<std::string> rollback_notes;  // **Rollback:** prose, recorded as manual notes
  std::string troubleshooting;              // shown when the step fails
  // Sections of the rollback procedure and alternatives only; held apart so that every
  // other step stays small.
  std::shared_ptr<SectionScope> scope_ptr;
  const SectionScope& scope() const {
    static const SectionScope kUnscoped;
    return scope_ptr ? *scope_ptr : kUnscoped;
  }
  SectionScope& mutable_scope() {
    if (!scope_ptr) scope_ptr = std::make_shared<SectionScope>();
    return *scope_ptr;
  }
  bool has_rollback() const { return !compensation.empty() || !rollback_notes.empty(); }
};

struct Phase {
  std::string title;
  SourcePos pos;
  std::optional<Millis> budget;
};

struct Requirement {
  std::string tool;
  std::string op;  // ">=", ">", "=", "<=", "<", or empty for "present"
  std::string version;
  SourcePos pos;
};

enum class SecretSource { kEnv, kFile, kCommand };
struct SecretSpec {
  std::string name;
  SecretSource source = SecretSource::kEnv;
  std::string value;  // variable name, path or command
  SourcePos pos;
};

struct Environment {
  std::string name;
  std::map<std::string, std::string> vars;
  bool is_protected = false;
  SourcePos pos;
};

// What a run reports to the outside world (`notify:` in the front matter).
enum class NotifyKind { kWebhook, kSlack, kCommand };

// Events in the order a run can reach them; bit i of NotifyTarget::events is kNotifyEvents[i].
enum class NotifyEvent { kStarted, kWaiting, kFailed, kRolledBack, kSucceeded };
inline constexpr NotifyEvent kNotifyEvents[] = {NotifyEvent::kStarted, NotifyEvent::kWaiting,
                                                NotifyEvent::kFailed, NotifyEvent::kRolledBack,
                                                NotifyEvent::kSucceeded};
// "started", "waiting", "failed", "rolled_back", "succeeded".
const char* NotifyEventName(NotifyEvent event);

struct NotifyTarget {
  NotifyKind kind = NotifyKind::kWebhook;
  // The URL (webhook, slack) or shell command as written: `${NAME}` references are expanded
  // only when a notification is sent, so a secret URL never sits in the model or the plan.
  std::string value;
  unsigned events = 0x1f;  // a bit per NotifyEvent; all of them unless `events:` says
  SourcePos pos;
  bool Wants(NotifyEvent event) const { return (events >> static_cast<int>(event)) & 1u; }
};

// `approvers:` in the front matter: a role and the accounts that may decide its gates.
struct ApproverRole {
  std::string role;
  std::vector<std::string> accounts;
  SourcePos pos;
};

// Who decides a gate and what it asks: a block's `role=` and `prompt=` attributes, or a
// step's `role=` directive.
struct GateSpec {
  std::string role;  // a role of FrontMatter::approvers; "" when none
  SourcePos role_pos;
  std::string prompt;  // "" asks the default question
};

// An entry of the front matter's `inputs:` (inputs.h): what the value is for, and where a
// run gets it when the command line does not give it.
struct InputSpec {
  std::string name;
  std::string description;
  std::optional<std::string> default_value;
  std::optional<std::string> command;  // its standard output, trailing newlines removed
  SourcePos pos;
};

struct FrontMatter {
  bool present = false;
  std::string title;
  std::map<std::string, std::string> vars;
  std::vector<SecretSpec> secrets;
  std::vector<Requirement> requires_tools;
  std::vector<Environment> environments;
  std::vector<InputSpec> inputs;
  std::string shell = "bash";
  // `skipPrompts: true` (Runme): inputs are never asked for at a terminal.
  bool skip_prompts = false;
  bool runme_notebook = false;  // `runme:` (its id): blocks default to promptEnv auto
  std::optional<std::string> lock;
  // Where runs of this runbook are journaled, relative to its folder (`state:`).
  std::optional<std::string> state;
  std::optional<std::string> on_failure;
  std::optional<std::string> root;
  std::vector<NotifyTarget> notify;
  std::vector<ApproverRole> approvers;
  // Once roles are declared the account that started a run may not decide its gates,
  // unless this says it may.
  bool allow_self_approval = false;
  int end_line = 0;  // the closing `---`
};

struct SignOffRole {
  std::string role;
  SourcePos pos;
};

// A section that is read, never run: troubleshooting, contacts, reports of past results, a
// to-do list already ticked (docs/runbook-format.md, "Documentation sections").
struct DocumentationSection {
  std::string_view title;  // in the TextStore
  SourcePos pos;
};

struct Runbook {
  std::string path;
  std::string title;  // front matter title, else the first H1, else the file name
  FrontMatter front_matter;
  std::vector<Phase> phases;
  std::vector<Step> steps;  // document order; kinds tell the flow each belongs to
  std::vector<SignOffRole> sign_off;
  std::vector<DocumentationSection> documentation;  // top-level ones, in document order
  // Held apart, by line, so that steps and blocks without them stay small: the gates of
  // blocks by the line of their fence, the roles of steps by the line of Step::pos.
  std::map<int, GateSpec> block_gates;
  std::map<int, GateSpec> step_gates;
  // The attributes of blocks kept as a Block, not an Action (**Rollback:** and
  // **Verification:** blocks), that have any (`{ confirm }`, `{ skip }`), by the line of
  // their fence.
  std::map<int, Attributes> block_attributes;
  std::shared_ptr<const TextStore> text_store;  // holds the code and expected lines

  const Environment* FindEnvironment(const std::string& name) const;
  // The accounts of `role`, or null for a role the front matter does not declare.
  const ApproverRole* FindRole(std::string_view role) const;
  // What the block of `action` sets for its gate, or null.
  const GateSpec* BlockGate(const Action& action) const;
  // A **Rollback:** or **Verification:** block with its attributes, as the engine runs it
  // and the plan shows it.
  Action BlockAction(const Block& block) const;
  // The promptEnv mode a block with `attributes` runs with: its own, else the notebook's.
  PromptEnv PromptEnvOf(const Attributes& attributes) const;
  // The role that decides `action`'s gate (its own, else its step's), or that decides a
  // gate of `step` that is not a block (a manual step or item) when `action` is null.
  std::string_view GateRole(const Step& step, const Action* action) const;
};

}  // namespace stagecraft::runbook
