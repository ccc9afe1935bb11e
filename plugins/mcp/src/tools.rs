//! The MCP tools: which agent-tty command each one runs, and how its
//! parameters become that command's arguments.
//!
//! Parameters are named as the commands' JSON results name things
//! (`sessionId`, `timeoutMs`, `cols`), not as the CLI spells its flags, so an
//! agent can feed one tool's answer into the next. Each parameter maps to
//! exactly one CLI argument; nothing here interprets a value, the command
//! does (so every check, default and error code is the CLI's own).

use serde_json::{json, Map, Value};

/// How a parameter is written on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arg {
    /// A positional value, in the order the parameters are declared.
    Positional,
    /// `--flag VALUE`.
    Option(&'static str),
    /// `--flag` when true.
    Flag(&'static str),
    /// `--flag VALUE` once per array item.
    Repeated(&'static str),
    /// Every array item after `--`.
    Trailing,
}

/// A parameter's JSON type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ty {
    Str,
    Int,
    Bool,
    StrArray,
}

/// One parameter of a tool.
#[derive(Debug, Clone, Copy)]
pub struct Param {
    pub name: &'static str,
    pub arg: Arg,
    pub ty: Ty,
    pub required: bool,
    pub doc: &'static str,
}

/// One tool: an agent-tty command and its parameters.
#[derive(Debug, Clone, Copy)]
pub struct ToolDef {
    pub name: &'static str,
    /// The command's words (`["record", "export"]`); the tool is listed only
    /// when an installed plugin mounts this command.
    pub command: &'static [&'static str],
    pub description: &'static str,
    pub params: &'static [Param],
    /// Arguments always added (the `run` tool asks for the output).
    pub fixed: &'static [&'static str],
}

const fn p(name: &'static str, arg: Arg, ty: Ty, doc: &'static str) -> Param {
    Param {
        name,
        arg,
        ty,
        required: false,
        doc,
    }
}

const fn req(name: &'static str, arg: Arg, ty: Ty, doc: &'static str) -> Param {
    Param {
        name,
        arg,
        ty,
        required: true,
        doc,
    }
}

const SESSION: Param = req(
    "sessionId",
    Arg::Positional,
    Ty::Str,
    "The Session id (or its name), as `create` and `list` return it",
);

use Arg::{Flag, Option as Opt, Positional, Repeated, Trailing};
use Ty::{Bool, Int, Str, StrArray};

/// Every tool, in the order `tools/list` gives them.
pub const TOOLS: &[ToolDef] = &[
    ToolDef {
        name: "create",
        command: &["create"],
        description: "Start a new terminal Session (a real PTY) running a command, by default \
                      the user's shell. Returns its sessionId; every other tool takes it.",
        params: &[
            p("command", Trailing, StrArray, "The program and its arguments as argv words, e.g. [\"bash\", \"--norc\"]; default: a shell"),
            p("name", Opt("name"), Str, "A name to recognise the Session by"),
            p("cwd", Opt("cwd"), Str, "Working directory (absolute path)"),
            p("cols", Opt("cols"), Int, "Terminal width (default 80)"),
            p("rows", Opt("rows"), Int, "Terminal height (default 24)"),
            p("env", Repeated("env"), StrArray, "Extra environment variables, each KEY=VALUE"),
            p("term", Opt("term"), Str, "The TERM the program sees (default xterm-256color)"),
            p("shell", Opt("shell"), Str, "The shell to run when no command is given"),
            p("idleTimeoutMs", Opt("idle-timeout-ms"), Int, "End the Session after this long without activity (0 = never)"),
        ],
        fixed: &[],
    },
    ToolDef {
        name: "list",
        command: &["list"],
        description: "List the Home's Sessions (running ones unless all is true).",
        params: &[p("all", Flag("all"), Bool, "Include Sessions that have ended")],
        fixed: &[],
    },
    ToolDef {
        name: "run",
        command: &["run"],
        description: "Type a command line into a Session's shell, wait until it finishes, and \
                      return its exit code and what it printed (escape sequences removed, \
                      head and tail kept when longer than maxOutputBytes).",
        params: &[
            SESSION,
            req("command", Positional, Str, "The command line, as typed at the shell prompt"),
            p("timeoutMs", Opt("timeout"), Int, "Give up waiting after this many milliseconds (default 30000)"),
            p("noWait", Flag("no-wait"), Bool, "Return once the command is typed"),
            p("maxOutputBytes", Opt("max-output-bytes"), Int, "Keep at most this many bytes of output (default 16384)"),
            p("force", Flag("force"), Bool, "Type even while a person controls the Session (attach)"),
        ],
        fixed: &["--output"],
    },
    ToolDef {
        name: "type",
        command: &["type"],
        description: "Type literal text into a Session (no Enter unless appendNewline).",
        params: &[
            SESSION,
            req("text", Positional, Str, "The text, sent as is"),
            p("appendNewline", Flag("append-newline"), Bool, "Press Enter after the text"),
            p("force", Flag("force"), Bool, "Type even while a person controls the Session (attach)"),
        ],
        fixed: &[],
    },
    ToolDef {
        name: "paste",
        command: &["paste"],
        description: "Paste text into a Session as a bracketed paste.",
        params: &[
            SESSION,
            req("text", Positional, Str, "The text to paste"),
            p("force", Flag("force"), Bool, "Paste even while a person controls the Session (attach)"),
        ],
        fixed: &[],
    },
    ToolDef {
        name: "send_keys",
        command: &["send-keys"],
        description: "Send named keys to a Session: Enter, Tab, Escape, Up, Ctrl+C, Alt+x, F5, \
                      or single characters.",
        params: &[
            SESSION,
            req("keys", Trailing, StrArray, "The key names, in order"),
            p("force", Flag("force"), Bool, "Send even while a person controls the Session (attach)"),
        ],
        fixed: &[],
    },
    ToolDef {
        name: "wait",
        command: &["wait"],
        description: "Wait until a Session's screen meets every condition given: text shown \
                      or gone, a regex, the screen changed or stable, the cursor somewhere, \
                      the program exited, or a person released control.",
        params: &[
            SESSION,
            p("text", Opt("text"), Str, "The screen shows this text"),
            p("regex", Opt("regex"), Str, "The screen text matches this regular expression"),
            p("gone", Opt("gone"), Str, "This text is no longer on the screen"),
            p("goneRegex", Opt("gone-regex"), Str, "Nothing on the screen matches this regular expression"),
            p("changed", Flag("changed"), Bool, "The screen differs from a baseline (afterSeq, fromHash, or the screen now)"),
            p("fromHash", Opt("from-hash"), Str, "With changed: the baseline screenHash"),
            p("released", Flag("released"), Bool, "A person who attached to the Session has detached"),
            p("screenStableMs", Opt("screen-stable-ms"), Int, "The screen unchanged for this long"),
            p("cursorRow", Opt("cursor-row"), Int, "The cursor is on this row (0-based)"),
            p("cursorCol", Opt("cursor-col"), Int, "The cursor is in this column (0-based)"),
            p("afterSeq", Opt("after-seq"), Int, "Only screens including events after this seq count"),
            p("exit", Flag("exit"), Bool, "The Session's program has ended"),
            p("idleMs", Opt("idle-ms"), Int, "No output for this long"),
            p("timeoutMs", Opt("timeout"), Int, "Give up after this many milliseconds (default 600000)"),
        ],
        fixed: &[],
    },
    ToolDef {
        name: "snapshot",
        command: &["snapshot"],
        description: "Read a Session's screen: every visible row, the cursor, screenHash; with \
                      sinceSeq or sinceHash only the rows that changed since then.",
        params: &[
            SESSION,
            p("format", Opt("format"), Str, "structured (default) or text"),
            p("includeScrollback", Flag("include-scrollback"), Bool, "Include lines scrolled off the top"),
            p("includeCells", Flag("include-cells"), Bool, "Include every cell's colours and attributes"),
            p("sinceSeq", Opt("since-seq"), Int, "Only rows that changed after this seq"),
            p("sinceHash", Opt("since-hash"), Str, "Only rows that changed since the screen with this screenHash"),
        ],
        fixed: &[],
    },
    ToolDef {
        name: "screenshot",
        command: &["screenshot"],
        description: "Render a Session's screen as a PNG image (returned as image content).",
        params: &[
            SESSION,
            p("out", Opt("out"), Str, "Also keep the PNG at this path"),
            p("profile", Opt("profile"), Str, "Render profile name"),
            p("showCursor", Flag("show-cursor"), Bool, "Draw the cursor"),
        ],
        fixed: &[],
    },
    ToolDef {
        name: "record_export",
        command: &["record", "export"],
        description: "Export a Session's recording as an asciicast, GIF or WebM file.",
        params: &[
            SESSION,
            p("format", Opt("format"), Str, "asciicast, gif or webm"),
            p("out", Opt("out"), Str, "Where to write the file"),
            p("profile", Opt("profile"), Str, "Render profile name"),
            p("timing", Opt("timing"), Str, "Timing mode"),
            p("speed", Opt("speed"), Str, "Playback speed factor"),
        ],
        fixed: &[],
    },
    ToolDef {
        name: "resize",
        command: &["resize"],
        description: "Resize a Session's terminal.",
        params: &[
            SESSION,
            req("cols", Opt("cols"), Int, "Columns"),
            req("rows", Opt("rows"), Int, "Rows"),
        ],
        fixed: &[],
    },
    ToolDef {
        name: "signal",
        command: &["signal"],
        description: "Send a signal (INT, TERM, HUP, KILL, ...) to the job in a Session's foreground.",
        params: &[
            SESSION,
            req("signal", Positional, Str, "A signal name such as INT, or a number"),
            p("shell", Flag("shell"), Bool, "Signal the Session's shell instead of the foreground job"),
        ],
        fixed: &[],
    },
    ToolDef {
        name: "click",
        command: &["click"],
        description: "Click the mouse at a cell of a program that enabled mouse reporting \
                      (MOUSE_NOT_ENABLED otherwise).",
        params: &[
            SESSION,
            req("row", Positional, Int, "Row, from 0 (as cursorRow)"),
            req("col", Positional, Int, "Column, from 0 (as cursorCol)"),
            p("button", Opt("button"), Str, "left (default), middle or right"),
            p("double", Flag("double"), Bool, "Click twice"),
            p("force", Flag("force"), Bool, "Click even while a person controls the Session (attach)"),
        ],
        fixed: &[],
    },
    ToolDef {
        name: "scroll",
        command: &["scroll"],
        description: "Scroll the mouse wheel in a program that enabled mouse reporting.",
        params: &[
            SESSION,
            req("direction", Positional, Str, "up or down"),
            p("count", Positional, Int, "How many wheel steps (default 1)"),
            p("at", Opt("at"), Str, "Where, as ROW,COL (default the screen's centre)"),
            p("force", Flag("force"), Bool, "Scroll even while a person controls the Session (attach)"),
        ],
        fixed: &[],
    },
    ToolDef {
        name: "destroy",
        command: &["destroy"],
        description: "End a Session's processes and mark it destroyed.",
        params: &[
            SESSION,
            p("force", Flag("force"), Bool, "Kill at once instead of hanging up first"),
        ],
        fixed: &[],
    },
];

/// The tool's JSON Schema for `inputSchema`.
pub fn input_schema(tool: &ToolDef) -> Map<String, Value> {
    let mut properties = Map::new();
    for param in tool.params {
        let schema = match param.ty {
            Ty::Str => json!({ "type": "string", "description": param.doc }),
            Ty::Int => json!({ "type": "integer", "minimum": 0, "description": param.doc }),
            Ty::Bool => json!({ "type": "boolean", "description": param.doc }),
            Ty::StrArray => {
                json!({ "type": "array", "items": { "type": "string" }, "description": param.doc })
            }
        };
        properties.insert(param.name.to_owned(), schema);
    }
    let required: Vec<&str> = tool
        .params
        .iter()
        .filter(|p| p.required)
        .map(|p| p.name)
        .collect();
    let mut schema = Map::new();
    schema.insert("type".into(), json!("object"));
    schema.insert("properties".into(), Value::Object(properties));
    if !required.is_empty() {
        schema.insert("required".into(), json!(required));
    }
    schema.insert("additionalProperties".into(), json!(false));
    schema
}

/// A parameter the tool does not take, or of the wrong type.
#[derive(Debug, PartialEq)]
pub struct BadParams(pub String);

/// The command-line words for a call: the command, its options, then `--`,
/// its positionals in declaration order and the trailing words.
pub fn argv(tool: &ToolDef, args: &Map<String, Value>) -> Result<Vec<String>, BadParams> {
    if let Some(unknown) = args
        .keys()
        .find(|k| !tool.params.iter().any(|p| p.name == k.as_str()))
    {
        let known: Vec<&str> = tool.params.iter().map(|p| p.name).collect();
        return Err(BadParams(format!(
            "the {} tool takes no parameter {unknown:?}; it takes: {}",
            tool.name,
            known.join(", ")
        )));
    }
    let mut words: Vec<String> = tool.command.iter().map(|w| (*w).to_owned()).collect();
    let mut options = Vec::new();
    let mut positionals = Vec::new();
    let mut trailing = Vec::new();
    for param in tool.params {
        let Some(value) = args.get(param.name).filter(|v| !v.is_null()) else {
            if param.required {
                return Err(BadParams(format!(
                    "the {} tool needs {:?}",
                    tool.name, param.name
                )));
            }
            continue;
        };
        let wrong = |want: &str| BadParams(format!("{:?} must be {want}, got {value}", param.name));
        let scalar = || -> Result<String, BadParams> {
            match (param.ty, value) {
                (Ty::Str, Value::String(s)) => Ok(s.clone()),
                (Ty::Int, Value::Number(n)) if n.is_u64() => Ok(n.to_string()),
                // An integer sent as a string is passed on for the command to judge.
                (Ty::Int, Value::String(s)) => Ok(s.clone()),
                (Ty::Str, _) => Err(wrong("a string")),
                _ => Err(wrong("a non-negative integer")),
            }
        };
        let list = || -> Result<Vec<String>, BadParams> {
            match value {
                Value::Array(items) => items
                    .iter()
                    .map(|i| {
                        i.as_str()
                            .map(str::to_owned)
                            .ok_or_else(|| wrong("an array of strings"))
                    })
                    .collect(),
                _ => Err(wrong("an array of strings")),
            }
        };
        match param.arg {
            Arg::Positional => positionals.push(scalar()?),
            Arg::Option(flag) => {
                options.push(format!("--{flag}"));
                options.push(scalar()?);
            }
            Arg::Flag(flag) => match value {
                Value::Bool(true) => options.push(format!("--{flag}")),
                Value::Bool(false) => {}
                _ => return Err(wrong("true or false")),
            },
            Arg::Repeated(flag) => {
                for item in list()? {
                    options.push(format!("--{flag}"));
                    options.push(item);
                }
            }
            Arg::Trailing => trailing = list()?,
        }
    }
    words.extend(options);
    words.extend(tool.fixed.iter().map(|w| (*w).to_owned()));
    // Every value an agent chose comes after `--`, so none is ever read as
    // a flag (`type` with the text "--help" types it).
    if !positionals.is_empty() || !trailing.is_empty() {
        words.push("--".into());
        words.extend(positionals);
        words.extend(trailing);
    }
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tool(name: &str) -> &'static ToolDef {
        TOOLS.iter().find(|t| t.name == name).unwrap()
    }

    fn args(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn options_come_first_and_every_value_after_a_double_dash() {
        let words = argv(
            tool("create"),
            &args(json!({ "command": ["bash", "--norc"], "cols": 100, "env": ["A=1", "B=2"] })),
        )
        .unwrap();
        assert_eq!(
            words,
            ["create", "--cols", "100", "--env", "A=1", "--env", "B=2", "--", "bash", "--norc"]
        );
        let words = argv(
            tool("run"),
            &args(json!({ "sessionId": "s1", "command": "echo hi", "timeoutMs": 500 })),
        )
        .unwrap();
        assert_eq!(
            words,
            ["run", "--timeout", "500", "--output", "--", "s1", "echo hi"]
        );
        let words = argv(
            tool("send_keys"),
            &args(json!({ "sessionId": "s1", "keys": ["Ctrl+C"] })),
        )
        .unwrap();
        assert_eq!(words, ["send-keys", "--", "s1", "Ctrl+C"]);
        let words = argv(tool("list"), &args(json!({}))).unwrap();
        assert_eq!(words, ["list"]);
    }

    #[rstest::rstest]
    #[case("-1")]
    #[case("--force")]
    #[case("--help")]
    fn text_that_looks_like_a_flag_is_a_value(#[case] text: &str) {
        let words = argv(
            tool("type"),
            &args(json!({ "sessionId": "-s1", "text": text })),
        )
        .unwrap();
        assert_eq!(words, ["type", "--", "-s1", text]);
    }

    #[test]
    fn unknown_missing_and_mistyped_parameters_are_refused() {
        let e = argv(tool("type"), &args(json!({ "sessionId": "s", "txt": "x" }))).unwrap_err();
        assert!(e.0.contains("no parameter \"txt\""), "{e:?}");
        let e = argv(tool("type"), &args(json!({ "sessionId": "s" }))).unwrap_err();
        assert!(e.0.contains("needs \"text\""), "{e:?}");
        let e = argv(
            tool("resize"),
            &args(json!({ "sessionId": "s", "cols": -1, "rows": 2 })),
        )
        .unwrap_err();
        assert!(e.0.contains("non-negative integer"), "{e:?}");
        let e = argv(tool("list"), &args(json!({ "all": "yes" }))).unwrap_err();
        assert!(e.0.contains("true or false"), "{e:?}");
    }

    #[test]
    fn every_schema_lists_its_required_parameters() {
        for t in TOOLS {
            let schema = input_schema(t);
            assert_eq!(schema["type"], "object");
            for p in t.params.iter().filter(|p| p.required) {
                assert!(schema["required"]
                    .as_array()
                    .unwrap()
                    .contains(&json!(p.name)));
            }
        }
        let names: std::collections::HashSet<_> = TOOLS.iter().map(|t| t.name).collect();
        assert_eq!(names.len(), TOOLS.len(), "tool names are unique");
    }
}
