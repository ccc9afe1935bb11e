//! What a plugin tells the host about itself (its commands, capabilities and
//! panes), and what the host hands a command when it runs one.

use crate::wire::HostEvent;
use crate::{ErrorCode, PluginError};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Everything a plugin offers, reported once at load.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PluginDescription {
    /// Command groups (e.g. `home`) this plugin introduces.
    #[serde(default)]
    pub groups: Vec<GroupSpec>,
    /// Commands the host mounts into its CLI.
    #[serde(default)]
    pub commands: Vec<CommandSpec>,
    /// Capability names other plugins may call through the host.
    #[serde(default)]
    pub capabilities: Vec<String>,
    /// Dashboard panes.
    #[serde(default)]
    pub panes: Vec<PaneSpec>,
}

/// What a plugin's `describe` answers on the wire: the [`PluginDescription`]
/// its author wrote, plus what the SDK adds (what it understands, the
/// permissions it uses, the effects its capabilities have). Kept apart so
/// adding a negotiated field never breaks a plugin author's struct literal.
/// Dereferences to the [`PluginDescription`].
///
/// Read through a private flat struct, never through `serde(flatten)`:
/// flattening makes serde buffer the whole description as generic content
/// before building it, which was half of every command's start-up work
/// (the host reads each plugin's description from its cache at start-up).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", from = "DescriptionFields")]
pub struct Description {
    /// The author's description (commands, groups, capabilities, panes).
    #[serde(flatten)]
    pub plugin: PluginDescription,
    /// Which requests and events the plugin understands. The SDK fills it in
    /// from what it knows; empty means "interface release 1's set", what a
    /// plugin built before negotiation existed understands.
    #[serde(default, skip_serializing_if = "ProtocolSupport::is_empty")]
    pub protocol: ProtocolSupport,
    /// The side-effecting capability calls this plugin makes, by permission
    /// name (e.g. `sessions.reconcile`). The host refuses a guarded call from
    /// a plugin that did not declare its permission, and `agent-tty plugins`
    /// shows what each plugin may do.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub permissions: Vec<String>,
    /// Which of this plugin's capability calls have side effects, and the
    /// permission a caller must declare to make them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub effects: Vec<EffectSpec>,
}

/// A [`Description`]'s keys as one flat object, the shape it has on the
/// wire: what [`Description`] is read from.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DescriptionFields {
    #[serde(default)]
    groups: Vec<GroupSpec>,
    #[serde(default)]
    commands: Vec<CommandSpec>,
    #[serde(default)]
    capabilities: Vec<String>,
    #[serde(default)]
    panes: Vec<PaneSpec>,
    #[serde(default)]
    protocol: ProtocolSupport,
    #[serde(default)]
    permissions: Vec<String>,
    #[serde(default)]
    effects: Vec<EffectSpec>,
}

impl From<DescriptionFields> for Description {
    fn from(f: DescriptionFields) -> Self {
        Description {
            plugin: PluginDescription {
                groups: f.groups,
                commands: f.commands,
                capabilities: f.capabilities,
                panes: f.panes,
            },
            protocol: f.protocol,
            permissions: f.permissions,
            effects: f.effects,
        }
    }
}

impl std::ops::Deref for Description {
    type Target = PluginDescription;
    fn deref(&self) -> &PluginDescription {
        &self.plugin
    }
}

/// A side effect one of a plugin's capabilities has, guarded by a permission.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EffectSpec {
    /// The capability, e.g. `sessions.list`.
    pub capability: String,
    /// The boolean argument that turns the effect on (e.g. `reconcile`); `None`
    /// when every call has it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when_arg: Option<String>,
    /// The permission a caller must declare, e.g. `sessions.reconcile`.
    pub permission: String,
    /// What it does, for a person reading `agent-tty plugins`.
    pub about: String,
}

impl EffectSpec {
    /// Whether a call with these arguments has the effect.
    pub fn applies(&self, capability: &str, args: &Value) -> bool {
        capability == self.capability
            && match &self.when_arg {
                None => true,
                Some(arg) => args.get(arg).and_then(Value::as_bool).unwrap_or(false),
            }
    }
}

/// The request and event kinds a plugin understands (feature negotiation).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProtocolSupport {
    /// [`crate::wire::PluginRequest`] kinds (`op` names).
    #[serde(default)]
    pub requests: Vec<String>,
    /// [`HostEvent`] kinds (`type` names).
    #[serde(default)]
    pub events: Vec<String>,
}

impl ProtocolSupport {
    /// Everything this build of the protocol knows.
    pub fn current() -> Self {
        ProtocolSupport {
            requests: crate::wire::PluginRequest::KNOWN
                .iter()
                .map(|s| s.to_string())
                .collect(),
            events: HostEvent::KNOWN.iter().map(|s| s.to_string()).collect(),
        }
    }

    /// Nothing declared: a plugin from before negotiation.
    pub fn is_empty(&self) -> bool {
        self.requests.is_empty() && self.events.is_empty()
    }

    /// Whether the plugin understands this request kind.
    pub fn request(&self, op: &str) -> bool {
        if self.requests.is_empty() {
            crate::wire::PluginRequest::BASELINE.contains(&op)
        } else {
            self.requests.iter().any(|r| r == op)
        }
    }

    /// Whether the plugin wants this event kind. A plugin that negotiated
    /// (listed its requests) and listed no events wants none; one from before
    /// negotiation gets interface release 1's events.
    pub fn event(&self, kind: &str) -> bool {
        if self.is_empty() {
            HostEvent::BASELINE.contains(&kind)
        } else {
            self.events.iter().any(|e| e == kind)
        }
    }
}

/// A command group such as `home` (its subcommands are [`CommandSpec`]s).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GroupSpec {
    /// The word typed.
    pub name: String,
    /// One line of help.
    pub about: String,
}

/// One command: the words typed, help, and arguments.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CommandSpec {
    /// The words typed, e.g. `["home", "list"]`. Also the envelope's `command`.
    pub path: Vec<String>,
    /// One line of help.
    pub about: String,
    /// Arguments in declaration order.
    #[serde(default)]
    pub args: Vec<ArgSpec>,
    /// Other names for the last word (e.g. `ls` for `list`).
    #[serde(default)]
    pub aliases: Vec<String>,
    /// Hidden from help (internal entries such as `_host`).
    #[serde(default)]
    pub hidden: bool,
}

impl CommandSpec {
    /// A command with no arguments yet.
    pub fn new(path: &[&str], about: &str) -> Self {
        CommandSpec {
            path: path.iter().map(|s| s.to_string()).collect(),
            about: about.to_owned(),
            args: Vec::new(),
            aliases: Vec::new(),
            hidden: false,
        }
    }

    /// Adds an argument.
    pub fn arg(mut self, arg: ArgSpec) -> Self {
        self.args.push(arg);
        self
    }

    /// Adds an alias for the last word.
    pub fn alias(mut self, alias: &str) -> Self {
        self.aliases.push(alias.to_owned());
        self
    }

    /// Hides the command from help.
    pub fn hidden(mut self) -> Self {
        self.hidden = true;
        self
    }
}

/// How an argument is written on the command line, and what the plugin receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ArgKind {
    /// `--name`; arrives as a bool.
    Flag,
    /// `--name VALUE`; arrives as a string or null.
    Option,
    /// `--name VALUE` any number of times; arrives as an array of strings.
    Repeated,
    /// A positional value; arrives as a string or null.
    Positional,
    /// Everything after `--` (or the remaining positionals); an array of strings.
    Trailing,
}

/// One argument of a command.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ArgSpec {
    /// The key in [`Invocation::args`] and, for options, the long flag.
    pub name: String,
    /// How it is written.
    pub kind: ArgKind,
    /// One line of help.
    pub help: String,
    /// Whether it must be given.
    #[serde(default)]
    pub required: bool,
    /// A one-letter short flag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub short: Option<char>,
    /// The placeholder shown in help, e.g. `PATH`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_name: Option<String>,
    /// The values a shell offers for it (e.g. `asciicast`, `gif`, `webm`).
    /// Completion only: the plugin still checks the value it receives, with
    /// its own error, so a host that ignores the list changes nothing.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<String>,
    /// What kind of value it takes, so a shell can offer Session ids or
    /// paths. Absent (and no `values`): the shell offers file names, as it
    /// does for any command.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint: Option<ValueHint>,
}

/// What an argument's value is, for shell completion.
///
/// Additive like every description field: a host from before a kind was
/// added reads it as [`ValueHint::Other`] and offers nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ValueHint {
    /// A Session of the Home in use (its id).
    SessionId,
    /// A file or directory path.
    Path,
    /// A directory path.
    Directory,
    /// A program name (the first word of a command line).
    Command,
    /// A kind this build does not know (offered as file names).
    #[serde(other)]
    Other,
}

impl ArgSpec {
    fn new(name: &str, kind: ArgKind, help: &str) -> Self {
        ArgSpec {
            name: name.to_owned(),
            kind,
            help: help.to_owned(),
            required: false,
            short: None,
            value_name: None,
            values: Vec::new(),
            hint: None,
        }
    }
    /// `--name`.
    pub fn flag(name: &str, help: &str) -> Self {
        Self::new(name, ArgKind::Flag, help)
    }
    /// `--name VALUE`.
    pub fn option(name: &str, value_name: &str, help: &str) -> Self {
        Self::new(name, ArgKind::Option, help).value_name(value_name)
    }
    /// `--name VALUE`, repeatable.
    pub fn repeated(name: &str, value_name: &str, help: &str) -> Self {
        Self::new(name, ArgKind::Repeated, help).value_name(value_name)
    }
    /// A required positional.
    pub fn positional(name: &str, help: &str) -> Self {
        let mut a = Self::new(name, ArgKind::Positional, help);
        a.required = true;
        a
    }
    /// The remaining words.
    pub fn trailing(name: &str, help: &str) -> Self {
        Self::new(name, ArgKind::Trailing, help)
    }
    /// Marks it required or optional.
    pub fn required(mut self, required: bool) -> Self {
        self.required = required;
        self
    }
    /// Adds a short flag.
    pub fn short(mut self, c: char) -> Self {
        self.short = Some(c);
        self
    }
    /// Sets the help placeholder.
    pub fn value_name(mut self, v: &str) -> Self {
        self.value_name = Some(v.to_owned());
        self
    }
    /// The values a shell offers (completion only; see [`ArgSpec::values`]).
    pub fn values(mut self, values: &[&str]) -> Self {
        self.values = values.iter().map(|v| v.to_string()).collect();
        self
    }
    /// What kind of value it takes (see [`ValueHint`]).
    pub fn hint(mut self, hint: ValueHint) -> Self {
        self.hint = Some(hint);
        self
    }
    /// The usual Session argument: a required positional `id`, shown as
    /// `SESSION_ID`, completed with the Home's Session ids.
    pub fn session_id(help: &str) -> Self {
        Self::positional("id", help)
            .value_name("SESSION_ID")
            .hint(ValueHint::SessionId)
    }
}

/// A dashboard pane a plugin provides.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaneSpec {
    /// Unique within the plugin.
    pub name: String,
    /// Shown in the pane's border and the footer.
    pub title: String,
    /// The dashboard key that opens it, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<char>,
    /// A well-known role the dashboard looks for (e.g. `home-picker`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
}

/// The Home a command runs against, as the host resolved it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HomeChoice {
    /// Canonical absolute path.
    pub path: String,
    /// Chosen by `--home` or `AGENT_TTY_HOME` (not the `~/.agent-tty` fallback).
    pub explicit: bool,
}

/// What the host tells every command and capability about its invocation.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CommandContext {
    /// The resolved Home, when it could be resolved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub home: Option<HomeChoice>,
    /// Why the Home could not be resolved (e.g. a relative `AGENT_TTY_HOME`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub home_error: Option<String>,
    /// `--json` was given.
    #[serde(default)]
    pub json: bool,
    /// Colour is allowed (a terminal, and `NO_COLOR` unset).
    #[serde(default)]
    pub color: bool,
    /// The host executable, for plugins that spawn `agent-tty` sub-processes.
    #[serde(default)]
    pub exe: String,
    /// The resolved log level (`--log-level` > `AGENT_TTY_LOG_LEVEL` > the
    /// Home's `config.json` > `info`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_level: Option<String>,
    /// The render profile by default (global `--profile` >
    /// `AGENT_TTY_PROFILE` > config `defaultProfile`); none = the command's
    /// own default. A command's own `--profile` is the global one: the host
    /// mounts one `--profile` for both.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    /// The renderer asked for (`--renderer` > `AGENT_TTY_RENDERER` > config
    /// `defaultRenderer`); none = automatic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renderer: Option<String>,
    /// The Home config's `idleTimeoutMs` (`create`'s default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idle_timeout_ms: Option<u64>,
    /// The global `--timeout-ms`, validated (accepted for 0.5 compatibility).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
}

impl CommandContext {
    /// The Home, or the usage error explaining why there is none.
    pub fn home(&self) -> Result<&HomeChoice, PluginError> {
        match (&self.home, &self.home_error) {
            (Some(h), _) => Ok(h),
            (None, Some(e)) => Err(PluginError::new(ErrorCode::InvalidInput, e.clone())),
            (None, None) => Err(PluginError::usage(
                "no Home could be resolved: pass --home <absolute path> or set AGENT_TTY_HOME",
            )),
        }
    }
}

/// One command invocation.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Invocation {
    /// The command's words, as in [`CommandSpec::path`].
    pub command: Vec<String>,
    /// Argument values by [`ArgSpec::name`].
    pub args: Map<String, Value>,
    /// The invocation's context.
    pub context: CommandContext,
}

impl Invocation {
    /// The command's words joined by spaces (the envelope's `command`).
    pub fn name(&self) -> String {
        self.command.join(" ")
    }
    /// A flag's value.
    pub fn flag(&self, name: &str) -> bool {
        self.args
            .get(name)
            .and_then(Value::as_bool)
            .unwrap_or(false)
    }
    /// An option's or positional's value.
    pub fn value(&self, name: &str) -> Option<&str> {
        self.args.get(name).and_then(Value::as_str)
    }
    /// A repeated option's or trailing argument's values.
    pub fn values(&self, name: &str) -> Vec<String> {
        match self.args.get(name) {
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect(),
            Some(Value::String(s)) => vec![s.clone()],
            _ => Vec::new(),
        }
    }
}

/// A command's successful outcome.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CommandOutput {
    /// The envelope's `result`.
    pub result: Value,
    /// `result` already written as JSON: when set, it is sent as `result`
    /// and `result` itself is ignored. A command answering thousands of
    /// rows writes them straight to text with it, instead of building a
    /// [`Value`] tree that is only serialised again (`home list` over a
    /// thousand Homes, ADR 0023). The wire is the same either way.
    #[serde(skip)]
    pub result_json: Option<Box<serde_json::value::RawValue>>,
    /// What to print for a person without `--json`; the host pretty-prints
    /// `result` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub human: Option<String>,
    /// Events the host announces to every plugin after this command succeeded.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<HostEvent>,
    /// Lines the host prints on stderr (e.g. "the Home Registry could not be updated").
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// A non-zero exit status for a successful envelope (e.g. 11 for a wait
    /// that timed out).
    #[serde(default)]
    pub exit_code: i32,
    /// The command wrote its product to stdout itself (`--out -`): the
    /// host prints the envelope or the human text on stderr instead, so
    /// stdout carries the product's bytes alone.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub stdout_taken: bool,
}

/// What `#[derive(Serialize)]` would write, with [`CommandOutput::result_json`]
/// as `result` when it is set.
impl Serialize for CommandOutput {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut out = serializer.serialize_struct("CommandOutput", 6)?;
        match &self.result_json {
            Some(json) => out.serialize_field("result", json)?,
            None => out.serialize_field("result", &self.result)?,
        }
        match &self.human {
            Some(human) => out.serialize_field("human", human)?,
            None => out.skip_field("human")?,
        }
        if self.events.is_empty() {
            out.skip_field("events")?;
        } else {
            out.serialize_field("events", &self.events)?;
        }
        if self.warnings.is_empty() {
            out.skip_field("warnings")?;
        } else {
            out.serialize_field("warnings", &self.warnings)?;
        }
        out.serialize_field("exitCode", &self.exit_code)?;
        if self.stdout_taken {
            out.serialize_field("stdoutTaken", &true)?;
        } else {
            out.skip_field("stdoutTaken")?;
        }
        out.end()
    }
}

impl CommandOutput {
    /// A result with human text.
    pub fn new(result: Value, human: impl Into<String>) -> Self {
        CommandOutput {
            result,
            human: Some(human.into()),
            ..Default::default()
        }
    }

    /// A result whose human text is built only when a person will read it:
    /// with `--json` (`context.json`) `human` is never called, so a command
    /// listing thousands of rows does not render a table nobody sees.
    pub fn for_context(
        context: &CommandContext,
        result: Value,
        human: impl FnOnce() -> String,
    ) -> Self {
        let human = if context.json { String::new() } else { human() };
        CommandOutput::new(result, human)
    }

    /// Puts the warnings into the result as well, as `warnings` (an object
    /// result only; none when there are none). The host prints warnings on
    /// stderr, which a script reading `--json` does not parse: a warning it
    /// must act on (a damaged Event Log, an unreadable Home Registry)
    /// belongs in the result too.
    pub fn with_warnings_in_result(mut self) -> Self {
        if self.warnings.is_empty() {
            return self;
        }
        if let Some(json) = self.result_json.take() {
            // Rare (a warning is news), so the written result is read back.
            self.result = serde_json::from_str(json.get()).unwrap_or(Value::Null);
        }
        if let Value::Object(result) = &mut self.result {
            result.insert("warnings".into(), Value::from(self.warnings.clone()));
        }
        self
    }

    /// The value `serde_json::to_value(&output)` gives, built by moving
    /// `result` and the text in rather than copying them: `home list` or
    /// `gc` over a thousand Homes answer a result of thousands of objects,
    /// and a deep copy of it on every answer was a measurable part of
    /// their time.
    pub fn into_value(self) -> Result<Value, serde_json::Error> {
        let mut map = Map::new();
        let result = match self.result_json {
            Some(json) => serde_json::from_str(json.get())?,
            None => self.result,
        };
        map.insert("result".into(), result);
        if let Some(human) = self.human {
            map.insert("human".into(), Value::String(human));
        }
        if !self.events.is_empty() {
            map.insert("events".into(), serde_json::to_value(&self.events)?);
        }
        if !self.warnings.is_empty() {
            map.insert("warnings".into(), Value::from(self.warnings));
        }
        map.insert("exitCode".into(), Value::from(self.exit_code));
        if self.stdout_taken {
            map.insert("stdoutTaken".into(), Value::Bool(true));
        }
        Ok(Value::Object(map))
    }

    /// Sets [`CommandOutput::result_json`].
    pub fn with_result_json(mut self, json: Box<serde_json::value::RawValue>) -> Self {
        self.result_json = Some(json);
        self
    }

    /// Reads an answer as `serde_json::from_value` does (same checks, same
    /// errors), but moves `result` out instead of rebuilding it object by
    /// object (see [`CommandOutput::into_value`]).
    pub fn from_value(mut value: Value) -> Result<CommandOutput, serde_json::Error> {
        let result = value
            .as_object_mut()
            .and_then(|map| map.get_mut("result"))
            .map(Value::take);
        let mut output: CommandOutput = serde_json::from_value(value)?;
        if let Some(result) = result {
            output.result = result;
        }
        Ok(output)
    }
}
