//! The host's side: load one plugin library and talk to it.
//!
//! Each library is opened through abi_stable's per-library header
//! (`lib_header_from_path(..).init_root_module()`), never through
//! `RootModule::load_from_*`: those cache one module per root-module *type*,
//! and every agent-tty plugin shares one root-module type, so the convenience
//! loaders would hand back the first plugin for every file.

use crate::discovery::{Candidate, FileIdentity};
use abi_stable::library::{lib_header_from_path, LibraryError};
use abi_stable::std_types::{RStr, RString};
use agent_tty_plugin_api::abi::{HostCallbacks, PluginModuleRef};
use agent_tty_plugin_api::wire::{PluginRequest, Response};
use agent_tty_plugin_api::{Description, ErrorCode, PluginError, INTERFACE_VERSION};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

/// A plugin that described itself: freshly, or as recorded in the plugin
/// description cache (see [`crate::plugin_cache`]).
///
/// Its library is opened at most once per process, and only when something
/// is sent to it: a command of another plugin never pays for this one.
pub struct KnownPlugin {
    /// The plugin's name.
    pub name: String,
    /// The plugin's version.
    pub version: String,
    /// The interface version it was built against (equal to ours).
    pub interface_version: u32,
    /// Its commands, capabilities and panes.
    pub description: Description,
    /// The file the search found and checked, and its identity then: the
    /// library opened is that file or nothing ([`open`]). For a plugin
    /// described from the cache, it is also the file that was described.
    file: Candidate,
    /// The opened library, or why it could not be opened.
    library: OnceLock<Result<Library, String>>,
}

/// An opened plugin library.
struct Library {
    module: PluginModuleRef,
    /// The host entry this plugin calls back through; it tells the host
    /// *which* plugin is calling (see [`CALLBACKS`]).
    callbacks: HostCallbacks,
}

/// A library whose root module was initialised and whose interface version
/// is ours, not yet described.
struct Opened {
    name: String,
    version: String,
    interface_version: u32,
    module: PluginModuleRef,
}

impl Opened {
    /// The library, with its own callback entry (taken only now, once the
    /// plugin is accepted, so a refused library never holds a slot).
    fn into_library(self) -> Library {
        Library {
            callbacks: callbacks_for(&self.name),
            module: self.module,
        }
    }
}

/// A library that could not be used, and why.
#[derive(Debug, Clone)]
pub struct RefusedPlugin {
    /// The file.
    pub path: PathBuf,
    /// The plugin's name, when it could be read.
    pub name: Option<String>,
    /// The plugin's version, when it could be read.
    pub version: Option<String>,
    /// The interface version it reports, when it could be read.
    pub interface_version: Option<u32>,
    /// A sentence naming the file and what is wrong.
    pub reason: String,
}

/// Answers a plugin's [`agent_tty_plugin_api::wire::HostRequest`]: the calling
/// plugin's name (when known) and the JSON request, giving a JSON [`Response`].
type HostHandler = Box<dyn Fn(Option<&str>, &str) -> String + Send + Sync>;
static HOST_HANDLER: OnceLock<HostHandler> = OnceLock::new();

/// Installs the function that answers plugins' requests to the host. Call
/// once, before the first plugin call.
pub fn set_host_handler(handler: impl Fn(Option<&str>, &str) -> String + Send + Sync + 'static) {
    let _ = HOST_HANDLER.set(Box::new(handler));
}

/// Who is calling back. The root module's frozen `HostCallbacks` carries only
/// a function pointer, so each loaded plugin gets its own pointer: one of these
/// trampolines, whose index names the plugin in [`CALLERS`]. That identity
/// survives a plugin calling from its own threads, which a thread-local would
/// not, and a plugin cannot forge another's (it only ever holds its own).
macro_rules! trampolines {
    ($($i:literal)*) => {
        [$({
            extern "C" fn trampoline(request: RStr<'_>) -> RString {
                host_call(Some($i), request)
            }
            trampoline as extern "C" fn(RStr<'_>) -> RString
        }),*]
    };
}
static CALLBACKS: [extern "C" fn(RStr<'_>) -> RString; 32] = trampolines!(0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31);
/// The plugin name behind each trampoline, in load order.
static CALLERS: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// A plugin past the 32nd is anonymous: it may call capabilities that need no
/// permission, and is refused the guarded ones.
extern "C" fn anonymous_host_call(request: RStr<'_>) -> RString {
    host_call(None, request)
}

fn callbacks_for(name: &str) -> HostCallbacks {
    let mut callers = CALLERS.lock().unwrap_or_else(|p| p.into_inner());
    let slot = match callers.iter().position(|n| n == name) {
        Some(i) => Some(i),
        None if callers.len() < CALLBACKS.len() => {
            callers.push(name.to_owned());
            Some(callers.len() - 1)
        }
        None => None,
    };
    HostCallbacks {
        call: slot.map_or(anonymous_host_call, |i| CALLBACKS[i]),
    }
}

fn host_call(slot: Option<usize>, request: RStr<'_>) -> RString {
    let caller = slot.and_then(|i| {
        CALLERS
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(i)
            .cloned()
    });
    let answer = match HOST_HANDLER.get() {
        Some(handler) => handler(caller.as_deref(), request.as_str()),
        None => Response::from_result(Err(PluginError::internal(
            "the host offers no services to plugins",
        )))
        .to_json(),
    };
    RString::from(answer)
}

/// Opens, checks and describes one plugin library, the file the search
/// checked.
pub fn load(found: &Candidate) -> Result<KnownPlugin, RefusedPlugin> {
    let opened = open(found)?;
    let mut plugin = KnownPlugin {
        name: opened.name.clone(),
        version: opened.version.clone(),
        interface_version: opened.interface_version,
        description: Description::default(),
        file: found.clone(),
        library: OnceLock::new(),
    };
    let _ = plugin.library.set(Ok(opened.into_library()));
    let description = plugin
        .call(&PluginRequest::Describe)
        .and_then(|v| {
            serde_json::from_value(v)
                .map_err(|e| PluginError::internal(format!("malformed description: {e}")))
        })
        .map_err(|e| {
            plugin.refusal(format!(
                "{} could not describe itself: {}",
                found.path.display(),
                e.message
            ))
        })?;
    plugin.description = description;
    Ok(plugin)
}

/// A plugin known from an earlier `describe` of the same, unchanged file
/// (`found`, whose identity the description was keyed by); its library is
/// opened on the first call.
pub fn described(
    found: &Candidate,
    name: String,
    version: String,
    interface_version: u32,
    description: Description,
) -> KnownPlugin {
    KnownPlugin {
        name,
        version,
        interface_version,
        description,
        file: found.clone(),
        library: OnceLock::new(),
    }
}

/// Opens the plugin library the search checked, and only it, and checks
/// its interface version. `found.path` names it for people; `found.real`
/// is the checked file (absolute, no symlink in it) and `found.identity`
/// what it was when checked.
///
/// `dlopen` takes a path, and a path is looked up again when it is used:
/// a bare name (no slash) is searched on `LD_LIBRARY_PATH` and in the
/// linker's cache, and any path may lead to another file by then. So the
/// checked file is opened here once (`O_NOFOLLOW`, non-blocking), its
/// identity compared with the checked one (device, inode, size, times: a
/// rebuild or a replacement changes it), the ELF check reads that
/// descriptor, and `dlopen` is given `/proc/self/fd/N`, which names that
/// open file whatever happens to any path meanwhile. That descriptor
/// is closed once the library is mapped. glibc finds an object already
/// loaded by the name it was opened with before anything else, and
/// descriptor numbers are reused, so the name given is one no loaded
/// object has ([`descriptor_name`]): `/proc/self/fd/5` must not hand back
/// the plugin loaded through an earlier descriptor 5. (glibc then also
/// compares device and inode, so one file is never mapped twice.)
/// Where `/proc` is not mounted, or `dlopen` cannot open that name (it
/// needs one more descriptor than a low `ulimit -n` may leave), `real`
/// itself is `dlopen`ed right after its identity matched again: the short
/// window left is closed by the trust rule on its directory and every one
/// above it (no one else may write them), not by the descriptor.
fn open(found: &Candidate) -> Result<Opened, RefusedPlugin> {
    use std::os::unix::fs::OpenOptionsExt;
    let Candidate {
        path,
        real,
        identity,
    } = found;
    let identity = *identity;
    let refuse = |reason: String| RefusedPlugin {
        path: path.to_owned(),
        name: None,
        version: None,
        interface_version: None,
        reason,
    };
    let changed = || {
        refuse(format!(
            "{} changed (rebuilt or replaced) after it was checked; run the command again",
            path.display()
        ))
    };
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(real)
        .map_err(|e| refuse(format!("{} cannot be opened: {e}", path.display())))?;
    let opened_identity = file.metadata().map(|m| FileIdentity::from_metadata(&m));
    if opened_identity.ok() != Some(identity) {
        return Err(changed());
    }
    if let Err(why) = crate::elf::check_file(&file) {
        return Err(refuse(format!("{} {why}", path.display())));
    }
    let by_descriptor = descriptor_name(std::os::fd::AsRawFd::as_raw_fd(&file));
    let load_from = match FileIdentity::of(&by_descriptor) {
        Some(id) if id == identity => by_descriptor,
        _ => real.clone(),
    };
    let mut header = lib_header_from_path(&load_from);
    // The library is mapped (or refused): its descriptor is not needed.
    drop(file);
    if load_from != *real && matches!(header, Err(LibraryError::OpenError { .. })) {
        // `dlopen` could not open the descriptor's name (it needs one more
        // descriptor, which a low `ulimit -n` may not leave): the checked
        // path, if it is still the checked file.
        if FileIdentity::of(real) != Some(identity) {
            return Err(changed());
        }
        header = lib_header_from_path(real);
    }
    let header = header.map_err(|e| {
        refuse(match e {
            LibraryError::GetSymbolError { .. } => format!(
                "{} is not an agent-tty plugin: it exports no plugin root module \
                 (plugins are built with `agent_tty_plugin_api::export_plugin!`)",
                path.display()
            ),
            other => format!(
                "{} is not a loadable agent-tty plugin: {}",
                path.display(),
                one_line(&other.to_string())
            ),
        })
    })?;
    let module = header.init_root_module::<PluginModuleRef>().map_err(|e| {
        refuse(format!(
            "{} was built against an incompatible agent-tty plugin interface \
             (this agent-tty speaks interface {INTERFACE_VERSION}, plugin-api {}): {}",
            path.display(),
            agent_tty_plugin_api::abi::ABI_VERSION,
            one_line(&e.to_string())
        ))
    })?;
    let name = module.name().as_str().to_owned();
    let version = module.version().as_str().to_owned();
    let interface_version = module.interface_version();
    if interface_version != INTERFACE_VERSION {
        return Err(RefusedPlugin {
            path: path.to_owned(),
            name: Some(name.clone()),
            version: Some(version.clone()),
            interface_version: Some(interface_version),
            reason: format!(
                "{} ({name} {version}) was built against plugin interface version \
                 {interface_version}, but this agent-tty speaks interface version \
                 {INTERFACE_VERSION}; rebuild the plugin against agent-tty-plugin-api \
                 with interface {INTERFACE_VERSION}",
                path.display()
            ),
        });
    }
    Ok(Opened {
        name,
        version,
        interface_version,
        module,
    })
}

/// A name of `/proc/self/fd/N` for descriptor `fd` that no object loaded
/// in this process already has. glibc compares names as strings and the
/// kernel reads `//` as `/`, so a name taken (by a plugin loaded through a
/// descriptor of the same number, since closed) gets one more slash:
/// `/proc/self/fd//5`. No extra descriptor is needed.
fn descriptor_name(fd: std::os::fd::RawFd) -> PathBuf {
    let loaded = loaded_object_names();
    let mut slashes = String::from("/");
    loop {
        let name = format!("/proc/self/fd{slashes}{fd}");
        if !loaded.contains(name.as_bytes()) {
            return PathBuf::from(name);
        }
        slashes.push('/');
    }
}

/// The names of the objects loaded in this process, as the dynamic linker
/// knows them (what each was opened as).
fn loaded_object_names() -> std::collections::HashSet<Vec<u8>> {
    unsafe extern "C" fn each(
        info: *mut libc::dl_phdr_info,
        _size: libc::size_t,
        data: *mut libc::c_void,
    ) -> libc::c_int {
        // SAFETY: the linker passes a valid `info` for the call's duration,
        // and `data` is the set passed below, borrowed for the iteration.
        unsafe {
            let names = &mut *data.cast::<std::collections::HashSet<Vec<u8>>>();
            let name = (*info).dlpi_name;
            if !name.is_null() {
                names.insert(std::ffi::CStr::from_ptr(name).to_bytes().to_vec());
            }
        }
        0
    }
    let mut names = std::collections::HashSet::new();
    // SAFETY: `each` only reads what the linker hands it and writes `names`,
    // which outlives the call.
    unsafe {
        libc::dl_iterate_phdr(Some(each), (&raw mut names).cast());
    }
    names
}

impl KnownPlugin {
    /// Where it was loaded from (as the search path names it).
    pub fn path(&self) -> &Path {
        &self.file.path
    }

    /// This plugin refused for `reason`, keeping what it said of itself.
    pub fn refusal(&self, reason: String) -> RefusedPlugin {
        RefusedPlugin {
            path: self.file.path.clone(),
            name: Some(self.name.clone()),
            version: Some(self.version.clone()),
            interface_version: Some(self.interface_version),
            reason,
        }
    }

    /// Sends one request and decodes the answer. A request kind the plugin
    /// did not declare in `describe` is not sent: it is answered here with
    /// `UNSUPPORTED`, which callers treat as "this plugin cannot do that".
    pub fn call(&self, request: &PluginRequest) -> Result<Value, PluginError> {
        Response::parse(self.call_text(request)?.as_str())
    }

    /// [`KnownPlugin::call`] without decoding the answer: its JSON text, for
    /// a caller that reads only part of it (the host prints a command's
    /// `result` as the plugin wrote it, [`crate::output::success_raw`]).
    pub fn call_text(&self, request: &PluginRequest) -> Result<RString, PluginError> {
        let op = request.op();
        if !matches!(request, PluginRequest::Describe) && !self.description.protocol.request(op) {
            return Err(PluginError::new(
                ErrorCode::Unsupported,
                format!(
                    "the {} plugin does not support the `{op}` request (it was built \
                     against an older agent-tty-plugin-api)",
                    self.name
                ),
            ));
        }
        let library = self.library()?;
        let text = serde_json::to_string(request)
            .map_err(|e| PluginError::internal(format!("could not encode a request: {e}")))?;
        Ok((library.module.call())(
            library.callbacks,
            RStr::from_str(&text),
        ))
    }

    /// The opened library, opening it now if this is the first call.
    ///
    /// A plugin described from the cache must open as what was described:
    /// its file must still have the identity the description was keyed by
    /// (a rebuild or replacement since this process started changes it;
    /// [`open`] compares it on the descriptor it loads), and the library
    /// must name itself the same. Otherwise the call fails and
    /// the next command describes the new file.
    fn library(&self) -> Result<&Library, PluginError> {
        let opened = self.library.get_or_init(|| {
            let opened = open(&self.file).map_err(|r| r.reason)?;
            if (&*opened.name, &*opened.version, opened.interface_version)
                != (&*self.name, &*self.version, self.interface_version)
            {
                return Err(format!(
                    "{} is now {} {}, not the {} {} it was described as; run the \
                     command again",
                    self.file.path.display(),
                    opened.name,
                    opened.version,
                    self.name,
                    self.version
                ));
            }
            Ok(opened.into_library())
        });
        opened.as_ref().map_err(|reason| {
            PluginError::new(
                ErrorCode::PluginNotInstalled,
                format!(
                    "the {} plugin could not be opened: {reason} (`agent-tty plugins` \
                     lists every plugin and why one is refused)",
                    self.name
                ),
            )
            .with_details(serde_json::json!({ "plugin": self.name, "path": self.file.path }))
        })
    }
}

/// abi_stable's messages span several indented lines; a refusal reason is one.
fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A plugin described from the cache whose file changed before its first
    /// call is not opened: the call fails, naming the plugin and the file.
    #[test]
    fn a_described_plugin_whose_file_changed_is_not_opened() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("libagent_tty_plugin_x.so");
        std::fs::write(&path, b"described").unwrap();
        let found = Candidate {
            path: path.clone(),
            real: path.clone(),
            identity: FileIdentity::of(&path).unwrap(),
        };
        let plugin = described(
            &found,
            "x".into(),
            "1.0.0".into(),
            INTERFACE_VERSION,
            Description::default(),
        );
        std::fs::write(&path, b"replaced, not a library").unwrap();
        let invoke = PluginRequest::Invoke {
            invocation: agent_tty_plugin_api::Invocation {
                command: vec!["x".into()],
                args: Default::default(),
                context: Default::default(),
            },
        };
        let err = plugin.call(&invoke).unwrap_err();
        assert_eq!(err.code, ErrorCode::PluginNotInstalled);
        assert!(
            err.message.contains("the x plugin could not be opened"),
            "{err:?}"
        );
        assert!(
            err.message.contains("changed (rebuilt or replaced)"),
            "{err:?}"
        );
        // The answer is kept: the file is not opened on a later call either.
        assert_eq!(plugin.call(&invoke).unwrap_err().message, err.message);
    }

    /// The file loaded is the file the search checked: one replaced at its
    /// path between the check and the load (here a library that is no
    /// plugin at all) is not opened, and the refusal says why.
    #[test]
    fn a_library_replaced_after_its_check_is_not_loaded() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("libagent_tty_plugin_x.so");
        std::fs::write(&path, b"checked").unwrap();
        let found = Candidate {
            path: path.clone(),
            real: path.clone(),
            identity: FileIdentity::of(&path).unwrap(),
        };
        let other = tmp.path().join("other");
        std::fs::write(&other, b"swapped in after the check").unwrap();
        std::fs::rename(&other, &path).unwrap();
        let refused = load(&found).err().expect("not loaded");
        assert!(
            refused
                .reason
                .contains("changed (rebuilt or replaced) after it was checked"),
            "{}",
            refused.reason
        );
    }
}
