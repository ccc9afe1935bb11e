//! Each command declared once: its [`CommandSpec`] and its handler side by
//! side in one [`CommandTable`] entry, from which the SDK derives both what
//! `describe` reports and where `invoke` goes.
//!
//! Before this, a plugin listed its commands in `describe` and dispatched them
//! in `invoke` by matching on path strings: every path was written twice, and
//! a command could be described but not handled (the host mounts it, running
//! it fails) or handled but not described (unreachable). With a table neither
//! can happen, and the SDK refuses a table that declares a path twice.
//!
//! Capabilities work the same way: a [`Capability`] holds the name, its
//! handler and the side effects it may have ([`EffectSpec`]), so
//! `describe().capabilities` and `effects()` come from the same entry that
//! answers the call.
//!
//! ```
//! use agent_tty_plugin_api::{
//!     export_plugin, ArgSpec, Capability, CommandOutput, CommandSpec, CommandTable, Host,
//!     Invocation, Plugin, PluginError,
//! };
//! use serde_json::json;
//!
//! #[derive(Default)]
//! pub struct Hello;
//!
//! impl Plugin for Hello {
//!     fn commands(&self) -> CommandTable {
//!         CommandTable::new()
//!             .command(
//!                 CommandSpec::new(&["hello"], "Say hello")
//!                     .arg(ArgSpec::positional("name", "Who to greet").required(false)),
//!                 hello,
//!             )
//!             .capability(Capability::new("hello.greeting", |_host, args, _context| {
//!                 let name = args["name"].as_str().unwrap_or("world");
//!                 Ok(json!(format!("Hello, {name}!")))
//!             }))
//!     }
//! }
//!
//! /// `hello [NAME]`: the handler sits beside its spec above.
//! fn hello(_host: &Host, invocation: &Invocation) -> Result<CommandOutput, PluginError> {
//!     let greeting = format!("Hello, {}!", invocation.value("name").unwrap_or("world"));
//!     Ok(CommandOutput::new(json!({ "greeting": greeting }), greeting))
//! }
//!
//! export_plugin!("hello", Hello::default);
//!
//! // `describe` lists the table; the table dispatches by path.
//! let table = Hello.commands();
//! assert_eq!(table.specs().next().unwrap().path, ["hello"]);
//! table.check().expect("every path and capability is declared once");
//! ```
//!
//! A plugin made of several modules lets each module build its own table
//! (`pub fn commands() -> CommandTable`) next to the code that runs them, and
//! joins them with [`CommandTable::merge`]; the order of the entries is the
//! order the host shows them in help.

use crate::{
    CommandContext, CommandOutput, CommandSpec, EffectSpec, Host, Invocation, PluginError,
};
use serde_json::Value;
use std::collections::HashSet;

/// What runs a command. A plain `fn` (or a closure capturing nothing), so a
/// table is cheap to build and holds no state: a plugin's state lives in the
/// plugin, reached through the [`Host`] or statics, never in the table.
pub type CommandHandler = fn(&Host, &Invocation) -> Result<CommandOutput, PluginError>;

/// What answers a capability call: the host, the call's arguments (any JSON
/// the capability documents) and the context of the command that caused it.
pub type CapabilityHandler = fn(&Host, &Value, &CommandContext) -> Result<Value, PluginError>;

/// One command: how it is typed ([`CommandSpec`]) and what runs it.
#[derive(Clone)]
pub struct Command {
    spec: CommandSpec,
    run: CommandHandler,
}

impl Command {
    /// A command from its spec and its handler.
    pub fn new(spec: CommandSpec, run: CommandHandler) -> Self {
        Command { spec, run }
    }

    /// How the command is typed, as `describe` reports it.
    pub fn spec(&self) -> &CommandSpec {
        &self.spec
    }

    /// Runs the command.
    pub fn run(&self, host: &Host, invocation: &Invocation) -> Result<CommandOutput, PluginError> {
        (self.run)(host, invocation)
    }
}

impl std::fmt::Debug for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Command")
            .field("path", &self.spec.path)
            .finish_non_exhaustive()
    }
}

/// One capability other plugins may call through the host: its name, its
/// handler and the side effects a caller must hold a permission for.
#[derive(Clone)]
pub struct Capability {
    name: String,
    run: CapabilityHandler,
    effects: Vec<EffectSpec>,
}

impl Capability {
    /// A capability with no side effects, e.g. `registry.homes`.
    pub fn new(name: &str, run: CapabilityHandler) -> Self {
        Capability {
            name: name.to_owned(),
            run,
            effects: Vec::new(),
        }
    }

    /// Declares a side effect: calls with the boolean argument `when_arg` set
    /// (or every call, for `None`) need the caller to have declared
    /// `permission` (see [`crate::Plugin::permissions`]); `about` says what the
    /// effect does, for `agent-tty plugins`.
    pub fn effect(mut self, when_arg: Option<&str>, permission: &str, about: &str) -> Self {
        self.effects.push(EffectSpec {
            capability: self.name.clone(),
            when_arg: when_arg.map(str::to_owned),
            permission: permission.to_owned(),
            about: about.to_owned(),
        });
        self
    }

    /// The name callers use.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The side effects it declares.
    pub fn effects(&self) -> &[EffectSpec] {
        &self.effects
    }

    /// Answers a call.
    pub fn call(
        &self,
        host: &Host,
        args: &Value,
        context: &CommandContext,
    ) -> Result<Value, PluginError> {
        (self.run)(host, args, context)
    }
}

impl std::fmt::Debug for Capability {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Capability")
            .field("name", &self.name)
            .field("effects", &self.effects)
            .finish_non_exhaustive()
    }
}

/// A plugin's commands and capabilities, each declared once with its handler.
///
/// Return one from [`crate::Plugin::commands`]: the SDK then adds its specs
/// and capability names to the plugin's description, its effects to the
/// plugin's effects, and sends every invocation and capability call whose
/// path or name is in the table to the entry's handler. See the [module
/// documentation](self) for an example.
#[derive(Clone, Debug, Default)]
pub struct CommandTable {
    commands: Vec<Command>,
    capabilities: Vec<Capability>,
}

impl CommandTable {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a command from its spec and handler.
    pub fn command(self, spec: CommandSpec, run: CommandHandler) -> Self {
        self.with(Command::new(spec, run))
    }

    /// Adds a command built elsewhere (e.g. `create::command()` in the module
    /// that implements `create`).
    pub fn with(mut self, command: Command) -> Self {
        self.commands.push(command);
        self
    }

    /// Adds a capability.
    pub fn capability(mut self, capability: Capability) -> Self {
        self.capabilities.push(capability);
        self
    }

    /// Appends another table's entries after this one's (one table per module,
    /// joined in the plugin).
    pub fn merge(mut self, other: CommandTable) -> Self {
        self.commands.extend(other.commands);
        self.capabilities.extend(other.capabilities);
        self
    }

    /// The commands, in declaration order.
    pub fn commands(&self) -> &[Command] {
        &self.commands
    }

    /// The capabilities, in declaration order.
    pub fn capabilities(&self) -> &[Capability] {
        &self.capabilities
    }

    /// The command specs, in declaration order (what `describe` reports).
    pub fn specs(&self) -> impl Iterator<Item = &CommandSpec> {
        self.commands.iter().map(Command::spec)
    }

    /// The capability names, in declaration order.
    pub fn capability_names(&self) -> impl Iterator<Item = &str> {
        self.capabilities.iter().map(Capability::name)
    }

    /// Every capability's declared side effects.
    pub fn effects(&self) -> impl Iterator<Item = &EffectSpec> {
        self.capabilities.iter().flat_map(|c| c.effects.iter())
    }

    /// The command with exactly this path (the host always sends the
    /// canonical path, never an alias).
    pub fn find(&self, path: &[String]) -> Option<&Command> {
        self.commands.iter().find(|c| c.spec.path == path)
    }

    /// The capability of this name.
    pub fn find_capability(&self, name: &str) -> Option<&Capability> {
        self.capabilities.iter().find(|c| c.name == name)
    }

    /// Runs the command the invocation names, or fails with
    /// [`no_such_command`] when the table has no such path.
    pub fn invoke(
        &self,
        host: &Host,
        invocation: &Invocation,
    ) -> Result<CommandOutput, PluginError> {
        match self.find(&invocation.command) {
            Some(command) => command.run(host, invocation),
            None => Err(no_such_command(&invocation.command)),
        }
    }

    /// Answers a capability call, or fails with [`no_such_capability`] when
    /// the table has no capability of that name.
    pub fn call_capability(
        &self,
        host: &Host,
        name: &str,
        args: &Value,
        context: &CommandContext,
    ) -> Result<Value, PluginError> {
        match self.find_capability(name) {
            Some(capability) => capability.call(host, args, context),
            None => Err(no_such_capability(name)),
        }
    }

    /// Checks that every command path (aliases included) and every capability
    /// name is declared once. The SDK runs it on every `describe`, together
    /// with the commands the plugin's own `describe` lists, so a plugin that
    /// breaks it is refused at load with this message; call it in a unit test
    /// to hear about it first.
    pub fn check(&self) -> Result<(), PluginError> {
        check_declared_once(self.specs(), self.capability_names())
    }
}

/// The error for a command path no table entry (and no hand-written
/// `invoke`) handles. The host only routes a command to the plugin that
/// described it, so seeing this means the plugin described a command it does
/// not implement.
pub fn no_such_command(path: &[String]) -> PluginError {
    PluginError::internal(format!(
        "this plugin has no command `{}`: it is not in the plugin's command table",
        path.join(" ")
    ))
}

/// The error for a capability name no table entry (and no hand-written
/// `capability`) answers.
pub fn no_such_capability(name: &str) -> PluginError {
    PluginError::internal(format!(
        "this plugin has no capability `{name}`: it is not in the plugin's command table"
    ))
}

/// Every command path, alias included, and every capability name appears
/// once, or the error naming the first that does not.
pub(crate) fn check_declared_once<'a>(
    specs: impl Iterator<Item = &'a CommandSpec>,
    capabilities: impl Iterator<Item = &'a str>,
) -> Result<(), PluginError> {
    let mut paths: HashSet<Vec<&str>> = HashSet::new();
    for spec in specs {
        let words: Vec<&str> = spec.path.iter().map(String::as_str).collect();
        let Some((_, parent)) = words.split_last() else {
            return Err(PluginError::internal(
                "the plugin declares a command with an empty path",
            ));
        };
        let names = std::iter::once(words.clone()).chain(spec.aliases.iter().map(|alias| {
            let mut path = parent.to_vec();
            path.push(alias.as_str());
            path
        }));
        for path in names {
            if !paths.insert(path.clone()) {
                return Err(PluginError::internal(format!(
                    "the plugin declares the command `{}` twice (as a path or an alias); \
                     each command must be declared once",
                    path.join(" ")
                )));
            }
        }
    }
    let mut names = HashSet::new();
    for name in capabilities {
        if !names.insert(name) {
            return Err(PluginError::internal(format!(
                "the plugin declares the capability `{name}` twice; each capability must be \
                 declared once"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ArgSpec, ErrorCode};
    use serde_json::json;

    fn greet(_: &Host, inv: &Invocation) -> Result<CommandOutput, PluginError> {
        Ok(CommandOutput::new(json!({ "hi": inv.value("name") }), "hi"))
    }

    fn forget(_: &Host, inv: &Invocation) -> Result<CommandOutput, PluginError> {
        Ok(CommandOutput::new(
            json!({ "forgot": inv.value("path") }),
            "gone",
        ))
    }

    fn table() -> CommandTable {
        CommandTable::new()
            .command(
                CommandSpec::new(&["greet"], "Greet").arg(ArgSpec::positional("name", "Who")),
                greet,
            )
            .merge(
                CommandTable::new()
                    .command(
                        CommandSpec::new(&["home", "list"], "List").alias("ls"),
                        |_, _| Ok(CommandOutput::new(json!("listed"), "")),
                    )
                    .command(CommandSpec::new(&["home", "forget"], "Forget"), forget)
                    .capability(
                        Capability::new("home.count", |_, args, _| Ok(json!(args["n"]))).effect(
                            Some("prune"),
                            "home.prune",
                            "prunes",
                        ),
                    ),
            )
    }

    fn invocation(path: &[&str], args: Value) -> Invocation {
        Invocation {
            command: path.iter().map(|s| s.to_string()).collect(),
            args: args.as_object().cloned().unwrap_or_default(),
            context: CommandContext::default(),
        }
    }

    #[test]
    fn lists_every_entry_in_declaration_order() {
        let t = table();
        let paths: Vec<_> = t.specs().map(|s| s.path.join(" ")).collect();
        assert_eq!(paths, ["greet", "home list", "home forget"]);
        assert_eq!(t.capability_names().collect::<Vec<_>>(), ["home.count"]);
        let effects: Vec<_> = t.effects().cloned().collect();
        assert_eq!(
            effects,
            [EffectSpec {
                capability: "home.count".into(),
                when_arg: Some("prune".into()),
                permission: "home.prune".into(),
                about: "prunes".into(),
            }]
        );
        t.check().unwrap();
    }

    #[test]
    fn invoke_runs_the_handler_declared_with_the_path() {
        let t = table();
        let host = Host::detached();
        let out = t
            .invoke(&host, &invocation(&["greet"], json!({ "name": "Ada" })))
            .unwrap();
        assert_eq!(out.result, json!({ "hi": "Ada" }));
        let out = t
            .invoke(
                &host,
                &invocation(&["home", "forget"], json!({ "path": "/h" })),
            )
            .unwrap();
        assert_eq!(out.result, json!({ "forgot": "/h" }));
        let out = t.invoke(&host, &invocation(&["home", "list"], json!({})));
        assert_eq!(out.unwrap().result, json!("listed"));
        let answer =
            t.call_capability(&host, "home.count", &json!({ "n": 3 }), &Default::default());
        assert_eq!(answer.unwrap(), json!(3));
    }

    #[test]
    fn an_unknown_path_or_capability_is_one_clear_error() {
        let t = table();
        let host = Host::detached();
        for path in [&["home"][..], &["greet", "extra"], &["ls"], &["home", "ls"]] {
            let err = t.invoke(&host, &invocation(path, json!({}))).unwrap_err();
            assert_eq!(err.code, ErrorCode::InternalError);
            assert_eq!(
                err.message,
                format!(
                    "this plugin has no command `{}`: it is not in the plugin's command table",
                    path.join(" ")
                )
            );
        }
        let err = t
            .call_capability(&host, "home.nope", &json!({}), &Default::default())
            .unwrap_err();
        assert_eq!(err.code, ErrorCode::InternalError);
        assert!(
            err.message.contains("no capability `home.nope`"),
            "{}",
            err.message
        );
    }

    #[test]
    fn a_path_declared_twice_is_caught() {
        let twice = table().command(CommandSpec::new(&["home", "forget"], "Again"), greet);
        let err = twice.check().unwrap_err();
        assert!(
            err.message.contains("`home forget` twice"),
            "{}",
            err.message
        );
    }

    #[test]
    fn an_alias_colliding_with_a_path_is_caught() {
        let clash = table().command(CommandSpec::new(&["home", "ls"], "Clash"), greet);
        let err = clash.check().unwrap_err();
        assert!(err.message.contains("`home ls` twice"), "{}", err.message);
        // The same last word under another parent is a different command.
        table()
            .command(
                CommandSpec::new(&["record", "list"], "Fine").alias("ls"),
                greet,
            )
            .check()
            .unwrap();
    }

    #[test]
    fn a_capability_declared_twice_is_caught() {
        let twice = table().capability(Capability::new("home.count", |_, _, _| Ok(Value::Null)));
        let err = twice.check().unwrap_err();
        assert!(
            err.message.contains("capability `home.count` twice"),
            "{}",
            err.message
        );
    }
}
