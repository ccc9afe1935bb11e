//! The command line ssh hands to the remote login shell.
//!
//! ssh sends one string, and the remote user's login shell (bash, zsh, dash,
//! fish, csh…) parses it. Quoting rules differ between those shells (fish
//! treats `\\` inside single quotes as one backslash; csh rejects a newline
//! inside quotes), so instead of quoting each argument for one of them,
//! every argument travels in a form that all of them read the same way, and
//! `sh` on the remote turns it back into the exact bytes:
//!
//! - an argument made only of [`is_plain`] bytes is sent as `p` + itself,
//!   unquoted (no shell gives those characters a meaning after a letter);
//! - any other argument is sent as `'x…'`, single-quoted, with every byte
//!   that is not plain written as a `\0ooo` octal escape, which
//!   `printf %b` decodes. The quoted text holds no quote, no `!` and no
//!   newline, and its backslashes are followed by a digit, which every shell
//!   keeps as is inside single quotes.
//!
//! The fixed decoder ([`DECODER`]) is the only code sent as text; the
//! script to run is itself an encoded argument. So spaces, quotes, `$()`,
//! `;`, newlines and bytes that are not UTF-8 arrive unchanged, and a hostile
//! argument can never become shell code.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;

/// Runs on the remote as `sh -c DECODER agent-tty-remote SCRIPT ARGS…`:
/// decodes every argument in place, then evaluates the first as a script
/// with the rest as its positional parameters. Written without `'`, `\`,
/// `!` or newlines so it survives single quotes in every login shell.
///
/// The script [`RUN_AGENT_TTY`] is built in (the call every command makes,
/// so it costs no decoding): `$1` is the agent-tty program a named remote
/// gave, or empty for `agent-tty` on the PATH, then `~/.local/bin/agent-tty`
/// (shell builtins only, no fork); the rest are its arguments. Without a
/// program there, it prints [`NOT_INSTALLED_MARK`] and exits 127.
pub const DECODER: &str = "n=$#; while [ $n -gt 0 ]; do case $1 in p*) v=${1#p};; \
     *) v=$(printf %bx \"${1#x}\"); v=${v%x};; esac; shift; set -- \"$@\" \"$v\"; \
     n=$((n-1)); done; s=$1; shift; case $s in agent-tty) p=$1; shift; \
     case $p in \"~/\"*) p=$HOME/${p#\"~/\"};; esac; \
     if [ -z \"$p\" ]; then IFS=:; for d in $PATH; do \
     if [ -f \"$d/agent-tty\" ] && [ -x \"$d/agent-tty\" ]; then p=$d/agent-tty; break; fi; \
     done; unset IFS; [ -n \"$p\" ] || p=$HOME/.local/bin/agent-tty; fi; \
     if [ -f \"$p\" ] && [ -x \"$p\" ]; then exec \"$p\" \"$@\"; fi; \
     echo \"agent-tty-remote: not installed: $p\" >&2; exit 127;; \
     *) eval \"$s\";; esac";

/// The built-in script of [`DECODER`] that runs the remote's agent-tty.
pub const RUN_AGENT_TTY: &str = "agent-tty";

/// The line the remote prints (on stderr, exiting 127) when it has no
/// agent-tty.
pub const NOT_INSTALLED_MARK: &str = "agent-tty-remote: not installed: ";

/// Bytes sent as they are: letters, digits and `_ . / = : , @ + -`.
pub fn is_plain(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"_./=:,@+-".contains(&b)
}

/// One argument in its wire form (see the module docs).
pub fn encode(arg: &[u8]) -> String {
    if arg.iter().all(|&b| is_plain(b)) {
        // Plain bytes are ASCII.
        return format!("p{}", String::from_utf8_lossy(arg));
    }
    let mut out = String::with_capacity(arg.len() * 4 + 3);
    out.push_str("'x");
    for &b in arg {
        if is_plain(b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("\\0{b:03o}"));
        }
    }
    out.push('\'');
    out
}

/// The whole remote command line: `script` run by `sh` with `args` as its
/// `$1…`, every one of them arriving byte for byte.
pub fn remote_command<'a>(script: &str, args: impl IntoIterator<Item = &'a OsStr>) -> String {
    let mut line = format!("sh -c '{DECODER}' agent-tty-remote ");
    line.push_str(&encode(script.as_bytes()));
    for arg in args {
        line.push(' ');
        line.push_str(&encode(arg.as_bytes()));
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;
    use std::ffi::OsString;
    use std::os::unix::ffi::OsStringExt;
    use std::process::Command;

    #[test]
    fn the_decoder_needs_no_quoting_in_any_shell() {
        assert!(!DECODER.contains(['\'', '\\', '!', '\n']));
    }

    #[rstest]
    #[case::plain(b"snapshot", "psnapshot")]
    #[case::empty(b"", "p")]
    #[case::space(b"a b", "'xa\\0040b'")]
    #[case::quote(b"it's", "'xit\\0047s'")]
    #[case::backslash(b"\\", "'x\\0134'")]
    #[case::not_utf8(b"\xff", "'x\\0377'")]
    fn encodes(#[case] arg: &[u8], #[case] wire: &str) {
        assert_eq!(encode(arg), wire);
    }

    /// The built-in run: the named program with its arguments, or the mark
    /// and status 127 when there is none; through each login shell.
    #[rstest]
    #[case::sh("sh")]
    #[case::bash("bash")]
    #[case::zsh("zsh")]
    #[case::fish("fish")]
    fn the_built_in_run_execs_the_program_or_says_it_is_missing(#[case] shell: &str) {
        if Command::new(shell).arg("-c").arg("true").status().is_err() {
            eprintln!("SKIPPED: {shell} is not installed");
            return;
        }
        let args = ["/usr/bin/printf", "[%s]", "a b", "$(x)"].map(OsStr::new);
        let line = remote_command(RUN_AGENT_TTY, args);
        let out = Command::new(shell).arg("-c").arg(&line).output().unwrap();
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "[a b][$(x)]",
            "{shell}"
        );
        let line = remote_command(RUN_AGENT_TTY, ["/nonexistent/agent-tty"].map(OsStr::new));
        let out = Command::new(shell).arg("-c").arg(&line).output().unwrap();
        assert_eq!(out.status.code(), Some(127), "{shell}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.starts_with(NOT_INSTALLED_MARK), "{shell}: {err}");
    }

    /// Runs the command line the way sshd does (`$SHELL -c LINE`) through
    /// each local shell and checks every argument arrives byte for byte.
    #[rstest]
    #[case::sh("sh")]
    #[case::bash("bash")]
    #[case::dash("dash")]
    #[case::zsh("zsh")]
    #[case::fish("fish")]
    fn arguments_arrive_unchanged_through_every_login_shell(#[case] shell: &str) {
        if Command::new(shell).arg("-c").arg("true").status().is_err() {
            eprintln!("SKIPPED: {shell} is not installed");
            return;
        }
        let args: Vec<OsString> = [
            &b"two words"[..],
            b"it's \"quoted\"",
            b"$(touch /tmp/never) `id` ; rm -rf x && y || z",
            b"line one\nline two\n",
            b"\\ \\\\ \\0 \\n %s %b",
            b"\xff\xfe not utf-8 \x80",
            b"*?[a]{b,c}~!#&|<>",
            b"",
            b"-n",
            b"\t\r\x1b[31m",
        ]
        .iter()
        .map(|a| OsString::from_vec(a.to_vec()))
        .collect();
        // Prints each argument followed by a NUL.
        let line = remote_command(
            "for a do printf '%s\\0' \"$a\"; done",
            args.iter().map(|a| a.as_os_str()),
        );
        let out = Command::new(shell).arg("-c").arg(&line).output().unwrap();
        assert!(out.status.success(), "{shell}: {out:?}");
        let got: Vec<&[u8]> = out.stdout.split(|&b| b == 0).collect();
        let want: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        assert_eq!(&got[..got.len() - 1], &want[..], "{shell}");
    }
}
