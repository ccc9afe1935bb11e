//! The `skills` plugin: Markdown guides for coding agents (contract §5).
//!
//! - `skills list` names the bundled skills with their descriptions;
//! - `skills get <name>` prints one (the whole file, frontmatter included);
//! - `skills path <name>` prints the directory holding its `SKILL.md`.
//!
//! **Bundled, then installed on demand.** Each skill is compiled into the
//! plugin (`include_str!`), so the plugin library alone is enough. Agents
//! and tools that want a file (`skills path`) get one written to
//! `${XDG_DATA_HOME:-~/.local/share}/agent-tty/skill-data/<name>/SKILL.md` on
//! first use: directories created owner-only, the file written atomically
//! (temp file + rename, so a symlink at that path is replaced, never
//! followed) and rewritten only when its content differs from the bundled
//! one (after an upgrade). Nothing is written by `skills list`.
//!
//! The format is 0.5's: `---` frontmatter of `key: value` lines with
//! `name` and `description` (required) and `advertise` (optional), then a
//! non-empty body. Lookups are by frontmatter `name`.

use agent_tty_core::{fsutil, safe_fs};
use agent_tty_plugin_api::{
    export_plugin, ArgSpec, CommandOutput, CommandSpec, CommandTable, ErrorCode, GroupSpec, Host,
    Invocation, Plugin, PluginDescription, PluginError,
};
use serde_json::json;
use std::path::{Path, PathBuf};

/// The skills this build ships, as `(directory, SKILL.md text)`.
/// The names are agent-tty 0.5's; the text is ours.
const BUNDLED: &[(&str, &str)] = &[
    (
        "agent-tty",
        include_str!("../../../skills/agent-tty/SKILL.md"),
    ),
    (
        "dogfood-tui",
        include_str!("../../../skills/dogfood-tui/SKILL.md"),
    ),
];

/// A parsed skill.
#[derive(Debug, Clone, PartialEq)]
pub struct Skill {
    /// Frontmatter `name`.
    pub name: String,
    /// Frontmatter `description`.
    pub description: String,
    /// Its directory name in the bundle.
    pub dir: &'static str,
    /// The whole file.
    pub content: &'static str,
}

/// Parses a `SKILL.md`: frontmatter (`name`, `description`, optional
/// `advertise`; any other key is refused) and a non-empty body.
pub fn parse(dir: &'static str, content: &'static str) -> Result<Skill, String> {
    let rest = content
        .strip_prefix("---\n")
        .ok_or("a skill must start with a `---` frontmatter line")?;
    let end = rest
        .find("\n---\n")
        .ok_or("the frontmatter has no closing `---` line")?;
    let (front, body) = (&rest[..end], &rest[end + 5..]);
    let (mut name, mut description) = (None, None);
    for line in front.lines().filter(|l| !l.trim().is_empty()) {
        let (key, value) = line
            .split_once(':')
            .ok_or_else(|| format!("frontmatter line {line:?} is not `key: value`"))?;
        let value = value.trim().to_owned();
        match key.trim() {
            "name" => name = Some(value),
            "description" => description = Some(value),
            "advertise" if value == "true" || value == "false" => {}
            other => return Err(format!("unknown or invalid frontmatter key {other:?}")),
        }
    }
    if body.trim().is_empty() {
        return Err("the skill's body is empty".into());
    }
    Ok(Skill {
        name: name
            .filter(|n| !n.is_empty())
            .ok_or("frontmatter `name` is missing")?,
        description: description
            .filter(|d| !d.is_empty())
            .ok_or("frontmatter `description` is missing")?,
        dir,
        content,
    })
}

/// Every bundled skill, sorted by name. A bundled file that does not parse
/// is a build defect, caught by this crate's tests.
pub fn bundled() -> Vec<Skill> {
    let mut skills: Vec<Skill> = BUNDLED
        .iter()
        .filter_map(|(dir, content)| parse(dir, content).ok())
        .collect();
    skills.sort_by(|a, b| a.name.cmp(&b.name));
    skills
}

fn find(name: &str) -> Result<Skill, PluginError> {
    bundled()
        .into_iter()
        .find(|s| s.name == name)
        .ok_or_else(|| {
            PluginError::new(
                ErrorCode::SkillNotFound,
                // 0.5's words; `skills list` names the skills there are.
                "Skill not found.",
            )
            .with_details(json!({ "name": name }))
        })
}

/// `${XDG_DATA_HOME:-$HOME/.local/share}/agent-tty/skill-data`: 0.5's
/// layout (`skill-data/<name>/SKILL.md`) under our data directory.
fn install_root() -> Result<PathBuf, PluginError> {
    let data = agent_tty_core::xdg::base_dir(agent_tty_core::xdg::DATA).ok_or_else(|| {
        PluginError::new(
            ErrorCode::StorageWriteError,
            "neither XDG_DATA_HOME nor HOME is an absolute path, so there is nowhere \
                     to install skills; set one of them",
        )
    })?;
    Ok(data.join("agent-tty").join("skill-data"))
}

/// Makes sure `<root>/<dir>/SKILL.md` holds the bundled text; returns the
/// skill's directory.
fn install(skill: &Skill, root: &Path) -> Result<PathBuf, PluginError> {
    let dir = root.join(skill.dir);
    let file = dir.join("SKILL.md");
    let write_error = |path: &Path, e: std::io::Error| {
        PluginError::new(
            ErrorCode::StorageWriteError,
            format!("could not install the skill at {}: {e}", path.display()),
        )
    };
    fsutil::create_dir_all_private(&dir).map_err(|e| write_error(&dir, e))?;
    // Trusted as Homes are: every directory from `<data>/agent-tty` down is
    // a real directory of this user's (or root's) that no one else can
    // write, so the file handed out is the one written here and stays so.
    // A shared or planted directory is refused, never handed out.
    let data_dir = root.parent().unwrap_or(root);
    for (path, what) in [
        (data_dir, "the agent-tty data directory"),
        (root, "the skills directory"),
        (dir.as_path(), "the skill's directory"),
    ] {
        safe_fs::check_trusted_path(path, what).map_err(|u| {
            PluginError::new(ErrorCode::StorageWriteError, u.reason)
                .with_details(json!({ "path": path }))
        })?;
    }
    // The file is read as Home files are: no symlink, no FIFO, capped.
    let current = safe_fs::read_home_file(&file, 1 << 20);
    if current.is_ok_and(|b| b == skill.content.as_bytes()) {
        return Ok(dir);
    }
    // Written afresh (temp file + rename: whatever was at the name is
    // replaced, never followed).
    fsutil::write_atomic(&file, skill.content.as_bytes(), 0o644)
        .map_err(|e| write_error(&file, e))?;
    Ok(dir)
}

/// The plugin.
#[derive(Default)]
pub struct SkillsPlugin;

impl Plugin for SkillsPlugin {
    /// None: the host need not open this plugin to announce anything.
    fn events(&self) -> Vec<String> {
        Vec::new()
    }

    fn commands(&self) -> CommandTable {
        let name = || ArgSpec::positional("name", "The skill's name, e.g. agent-tty");
        CommandTable::new()
            .command(
                CommandSpec::new(&["skills", "list"], "List the bundled skills"),
                list,
            )
            .command(
                CommandSpec::new(&["skills", "get"], "Print a skill (Markdown)").arg(name()),
                get,
            )
            .command(
                CommandSpec::new(
                    &["skills", "path"],
                    "Print the directory holding a skill's SKILL.md (installed on first use)",
                )
                .arg(name()),
                path,
            )
    }

    fn describe(&self) -> PluginDescription {
        PluginDescription {
            groups: vec![GroupSpec {
                name: "skills".into(),
                about: "Guides for coding agents: read the `agent-tty` skill first".into(),
            }],
            ..Default::default()
        }
    }
}

/// `skills list`: names and descriptions, nothing written.
fn list(_host: &Host, _inv: &Invocation) -> Result<CommandOutput, PluginError> {
    let skills = bundled();
    let human: Vec<String> = skills
        .iter()
        .map(|s| format!("{}  {}", s.name, s.description))
        .collect();
    let rows: Vec<_> = skills
        .iter()
        .map(|s| json!({ "name": s.name, "description": s.description, "source": "bundled" }))
        .collect();
    Ok(CommandOutput::new(
        json!({ "skills": rows }),
        human.join("\n"),
    ))
}

/// `skills get <name>`: the whole file, installed on first use.
fn get(_host: &Host, inv: &Invocation) -> Result<CommandOutput, PluginError> {
    let skill = find(inv.value("name").unwrap_or_default())?;
    let dir = install(&skill, &install_root()?)?;
    let mut out = CommandOutput::new(
        json!({
            "name": skill.name,
            "source": "bundled",
            "path": dir.join("SKILL.md"),
            "content": skill.content,
        }),
        "",
    );
    // The file exactly, nothing appended (the host adds no
    // newline to text that already ends in one).
    out.human = Some(skill.content.to_owned());
    Ok(out)
}

/// `skills path <name>`: the directory holding its `SKILL.md`.
fn path(_host: &Host, inv: &Invocation) -> Result<CommandOutput, PluginError> {
    let skill = find(inv.value("name").unwrap_or_default())?;
    let dir = install(&skill, &install_root()?)?;
    Ok(CommandOutput::new(
        json!({ "name": skill.name, "source": "bundled", "path": dir }),
        dir.to_string_lossy().into_owned(),
    ))
}

export_plugin!("skills", SkillsPlugin::default);

#[cfg(test)]
mod tests {
    use super::*;

    /// Described exactly as declared in the table, each path once.
    #[test]
    fn every_command_is_declared_once() {
        let d = agent_tty_plugin_api::test_support::PluginHarness::new(SkillsPlugin).describe();
        let paths: Vec<_> = d.commands.iter().map(|c| c.path.join(" ")).collect();
        assert_eq!(paths, ["skills list", "skills get", "skills path"]);
        assert_eq!(d.groups[0].name, "skills");
    }

    #[test]
    fn every_bundled_skill_parses() {
        for (dir, content) in BUNDLED {
            let skill = parse(dir, content).unwrap_or_else(|e| panic!("{dir}: {e}"));
            assert_eq!(skill.name, *dir);
        }
        assert_eq!(bundled().len(), BUNDLED.len());
    }

    #[test]
    fn bad_frontmatter_is_refused() {
        assert!(parse("x", "no frontmatter").is_err());
        assert!(parse("x", "---\nname: x\n---\nbody").is_err());
        assert!(parse("x", "---\nname: x\ndescription: d\nextra: 1\n---\nbody").is_err());
        assert!(parse("x", "---\nname: x\ndescription: d\n---\n  \n").is_err());
        assert!(parse(
            "x",
            "---\nname: x\ndescription: d\nadvertise: true\n---\nbody\n"
        )
        .is_ok());
    }

    #[test]
    fn installing_writes_once_and_repairs_a_changed_file() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("agent-tty").join("skills");
        let skill = find("agent-tty").unwrap();
        let dir = install(&skill, &root).unwrap();
        let file = dir.join("SKILL.md");
        assert_eq!(std::fs::read_to_string(&file).unwrap(), skill.content);
        std::fs::write(&file, "tampered").unwrap();
        install(&skill, &root).unwrap();
        assert_eq!(std::fs::read_to_string(&file).unwrap(), skill.content);
        // A symlink in the file's place is replaced, not followed.
        let elsewhere = tmp.path().join("elsewhere");
        std::fs::write(&elsewhere, "keep").unwrap();
        std::fs::remove_file(&file).unwrap();
        std::os::unix::fs::symlink(&elsewhere, &file).unwrap();
        install(&skill, &root).unwrap();
        assert_eq!(std::fs::read_to_string(&elsewhere).unwrap(), "keep");
        assert_eq!(std::fs::read_to_string(&file).unwrap(), skill.content);
    }

    /// `skills path` never hands out a file someone else could have put
    /// there or could change: a directory others can write (or own) is
    /// refused; a FIFO in the file's place is replaced without blocking.
    #[test]
    fn a_skill_is_never_handed_out_from_a_directory_others_control() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let data = tmp.path().join("agent-tty");
        let root = data.join("skills");
        let skill = find("agent-tty").unwrap();
        let dir = install(&skill, &root).unwrap();
        for d in [&data, &root, &dir] {
            std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o777)).unwrap();
            let e = install(&skill, &root).unwrap_err();
            assert_eq!(e.code, ErrorCode::StorageWriteError);
            assert!(e.message.contains("writable by group or others"), "{e:?}");
            std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o700)).unwrap();
        }
        let file = dir.join("SKILL.md");
        std::fs::remove_file(&file).unwrap();
        nix::unistd::mkfifo(&file, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
        install(&skill, &root).unwrap();
        assert_eq!(std::fs::read_to_string(&file).unwrap(), skill.content);
        if nix::unistd::geteuid().is_root() {
            let nobody = Some(nix::unistd::Uid::from_raw(65534));
            nix::unistd::chown(&dir, nobody, None).unwrap();
            let e = install(&skill, &root).unwrap_err();
            assert!(e.message.contains("belongs to another user"), "{e:?}");
        } else {
            eprintln!("SKIP (another user's directory): needs root to chown");
        }
    }

    #[test]
    fn an_unknown_skill_is_skill_not_found() {
        let e = find("nope").unwrap_err();
        assert_eq!(e.code, ErrorCode::SkillNotFound);
        assert_eq!(e.code.exit_code(), 1);
        assert_eq!(e.details["name"], "nope");
    }
}
