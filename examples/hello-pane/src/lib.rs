//! A third-party agent-tty plugin: one command (`greet`) and one dashboard
//! pane (key `Y`), built outside the agent-tty workspace.
//!
//! Build and install it where the host looks for plugins:
//! ```sh
//! cargo build --release
//! mkdir -p ~/.local/share/agent-tty/plugins
//! cp target/release/libagent_tty_plugin_hello_pane.so ~/.local/share/agent-tty/plugins/
//! agent-tty greet Ada          # the command
//! agent-tty dashboard          # press Y for the pane
//! ```

use agent_tty_plugin_api::{
    export_plugin, ArgSpec, CommandOutput, CommandSpec, CommandTable, Host, Invocation, KeyCode,
    KeyEvent, Pane, PaneAction, PaneContext, PaneFrame, PaneLine, PaneSpec, Plugin,
    PluginDescription, PluginError,
};
use serde_json::json;

/// The plugin. Keep it cheap to construct: it is built on the first request
/// whenever the host opens the library (to describe a new or changed file,
/// or to run one of its commands).
#[derive(Default)]
pub struct HelloPane;

impl Plugin for HelloPane {
    /// No host events: the host then never opens this library just to
    /// announce one (e.g. on every `agent-tty create`).
    fn events(&self) -> Vec<String> {
        Vec::new()
    }

    /// The commands: each spec (how it is typed, its help) beside the
    /// function that runs it. The SDK lists them in `describe` and sends
    /// `agent-tty greet …` to `greet`.
    fn commands(&self) -> CommandTable {
        CommandTable::new().command(
            CommandSpec::new(&["greet"], "Greet someone (out-of-tree example)")
                .arg(ArgSpec::positional("name", "Who to greet").required(false))
                .arg(ArgSpec::option("times", "N", "How many times (1-5)")),
            greet,
        )
    }

    /// What has no handler in the table: the pane.
    fn describe(&self) -> PluginDescription {
        PluginDescription {
            panes: vec![PaneSpec {
                name: "greeter".into(),
                title: "Greeter".into(),
                key: Some('Y'),
                role: None,
            }],
            ..Default::default()
        }
    }

    fn open_pane(
        &self,
        _host: &Host,
        pane: &str,
        context: &PaneContext,
    ) -> Result<Box<dyn Pane>, PluginError> {
        match pane {
            "greeter" => Ok(Box::new(Greeter {
                home: context.current_home.clone(),
                presses: 0,
            })),
            other => Err(PluginError::internal(format!("no pane {other}"))),
        }
    }
}

/// `greet [NAME] [--times N]`.
fn greet(_host: &Host, inv: &Invocation) -> Result<CommandOutput, PluginError> {
    let name = inv.value("name").unwrap_or("world");
    let times = match inv.value("times") {
        None => 1,
        Some(t) => t
            .parse::<u8>()
            .ok()
            .filter(|n| (1..=5).contains(n))
            .ok_or_else(|| {
                PluginError::usage(format!("--times must be a number from 1 to 5, not {t:?}"))
            })?,
    };
    let greeting = vec![format!("Greetings, {name}!"); times as usize];
    Ok(CommandOutput::new(
        json!({ "greeting": greeting }),
        greeting.join("\n"),
    ))
}

struct Greeter {
    home: String,
    presses: u32,
}

impl Pane for Greeter {
    fn render(&mut self, _host: &Host, _width: u16, _height: u16) -> PaneFrame {
        PaneFrame {
            lines: vec![
                PaneLine::raw("Greetings from an out-of-tree plugin!"),
                PaneLine::raw(format!("Home: {}", self.home)),
                PaneLine::raw(format!("Space pressed {} times; Esc closes", self.presses)),
            ],
            // Later protocol releases add fields; Default keeps this compiling.
            ..Default::default()
        }
    }

    fn key(&mut self, _host: &Host, key: &KeyEvent) -> PaneAction {
        match key.code {
            KeyCode::Esc => PaneAction::Close,
            KeyCode::Char(' ') => {
                self.presses += 1;
                PaneAction::None
            }
            _ => PaneAction::None,
        }
    }
}

export_plugin!("hello-pane", HelloPane::default);
