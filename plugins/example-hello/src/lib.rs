//! An example third-party plugin: one command and one dashboard pane.
//!
//! `docs/PLUGINS.md` walks through this file. It links nothing of agent-tty
//! but the plugin API, which is all a third party needs.

use agent_tty_plugin_api::{
    export_plugin, ArgSpec, CommandOutput, CommandSpec, CommandTable, Host, Invocation, KeyCode,
    KeyEvent, Pane, PaneAction, PaneContext, PaneFrame, PaneLine, PaneSpec, Plugin,
    PluginDescription, PluginError,
};
use serde_json::json;

/// Greets people, on the command line and in the dashboard.
#[derive(Default)]
pub struct HelloPlugin;

impl Plugin for HelloPlugin {
    /// Each command once: its spec (how it is typed) beside its handler.
    fn commands(&self) -> CommandTable {
        CommandTable::new().command(
            CommandSpec::new(&["hello"], "Say hello (an example plugin command)")
                .arg(ArgSpec::positional("name", "Who to greet").required(false))
                .arg(ArgSpec::flag("shout", "Greet loudly")),
            hello,
        )
    }

    /// What has no handler of its own: the pane.
    fn describe(&self) -> PluginDescription {
        PluginDescription {
            panes: vec![PaneSpec {
                name: "hello".into(),
                title: "Hello".into(),
                key: Some('E'),
                role: None,
            }],
            ..Default::default()
        }
    }

    fn open_pane(
        &self,
        _host: &Host,
        _pane: &str,
        context: &PaneContext,
    ) -> Result<Box<dyn Pane>, PluginError> {
        Ok(Box::new(HelloPane {
            home: context.current_home.clone(),
            keys: 0,
        }))
    }
}

/// `hello [NAME] [--shout]`.
fn hello(_host: &Host, invocation: &Invocation) -> Result<CommandOutput, PluginError> {
    let name = invocation.value("name").unwrap_or("world");
    let mut greeting = format!("Hello, {name}!");
    if invocation.flag("shout") {
        greeting = greeting.to_uppercase();
    }
    Ok(CommandOutput::new(
        json!({ "greeting": greeting }),
        greeting,
    ))
}

struct HelloPane {
    home: String,
    keys: u32,
}

impl Pane for HelloPane {
    fn render(&mut self, _host: &Host, _width: u16, _height: u16) -> PaneFrame {
        PaneFrame {
            lines: vec![
                PaneLine::raw("Hello from the example plugin!"),
                PaneLine::raw(format!("You are looking at Home {}", self.home)),
                PaneLine::raw(format!("Keys pressed here: {}", self.keys)),
                PaneLine::raw("Esc closes this pane."),
            ],
            ..PaneFrame::default()
        }
    }

    fn key(&mut self, _host: &Host, key: &KeyEvent) -> PaneAction {
        if key.code == KeyCode::Esc {
            return PaneAction::Close;
        }
        self.keys += 1;
        PaneAction::None
    }
}

export_plugin!("example-hello", HelloPlugin::default);

#[cfg(test)]
mod command_table_tests {
    use super::*;
    use agent_tty_plugin_api::test_support::PluginHarness;

    /// Described exactly as declared in the table, each path once.
    #[test]
    fn every_command_is_declared_once() {
        let d = PluginHarness::new(HelloPlugin).describe();
        let paths: Vec<_> = d.commands.iter().map(|c| c.path.join(" ")).collect();
        assert_eq!(paths, ["hello"]);
        let capabilities: [&str; 0] = [];
        assert_eq!(d.capabilities, capabilities);
    }
}
