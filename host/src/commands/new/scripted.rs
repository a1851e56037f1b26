//! Plugins in Python or JavaScript: one module, with the language's SDK, the
//! contract, a build script that installs the componentizer on first use, and
//! a README, all written from copies kept inside the binary.

use crate::cli::PluginKind;
use anyhow::{Result, bail};

const CONTRACT: &str = include_str!("../../../../wit/plugin.wit");
const README: &str = include_str!("README.script.md");

/// What a plugin in one scripting language is made of.
pub struct Language {
    /// As people name it.
    name: &'static str,
    /// The module's file extension.
    extension: &'static str,
    /// Where the SDK is written, and its text.
    sdk: (&'static str, &'static str),
    /// More files (`{{name}}` filled in): the build script first.
    files: &'static [(&'static str, &'static str)],
    /// What the build script installs, and where.
    tool: &'static str,
    /// About how large a built component is.
    size: &'static str,
    /// The filter, map and flat-map templates.
    sources: [&'static str; 3],
}

/// Python, built with componentize-py.
pub const PYTHON: Language = Language {
    name: "Python",
    extension: "py",
    sdk: (
        "sluice/__init__.py",
        include_str!("../../../../plugins/python/sluice/__init__.py"),
    ),
    files: &[
        ("build.sh", include_str!("python/build.sh")),
        (".gitignore", include_str!("python/gitignore")),
    ],
    tool: "componentize-py into .venv",
    size: "19 MB",
    sources: [
        include_str!("python/filter.py"),
        include_str!("python/map.py"),
        include_str!("python/flat_map.py"),
    ],
};

/// JavaScript, built with componentize-js.
pub const JAVASCRIPT: Language = Language {
    name: "JavaScript",
    extension: "js",
    sdk: (
        "sluice.js",
        include_str!("../../../../plugins/js/sluice.js"),
    ),
    files: &[
        ("build.sh", include_str!("js/build.sh")),
        (".gitignore", include_str!("js/gitignore")),
        ("package.json", include_str!("js/package.json")),
    ],
    tool: "componentize-js into node_modules",
    size: "12 MB",
    sources: [
        include_str!("js/filter.js"),
        include_str!("js/map.js"),
        include_str!("js/flat_map.js"),
    ],
};

impl Language {
    /// As the `created …` line names the SDK.
    pub fn sdk_name(&self) -> String {
        format!("the Sluice {} SDK", self.name)
    }

    /// The files of plugin `name` of `kind` (`kind_name` as typed), whose
    /// README shows the `test` and `run` commands.
    pub fn files(
        &self,
        name: &str,
        kind: PluginKind,
        kind_name: &str,
        test: &str,
        run: &str,
    ) -> Result<Vec<(String, String)>> {
        let source = match kind {
            PluginKind::Filter => self.sources[0],
            PluginKind::Map => self.sources[1],
            PluginKind::FlatMap => self.sources[2],
            PluginKind::Generator => bail!(
                "a generator cannot be written in {} yet (its SDK makes filters, maps and flat-maps); use --lang rust",
                self.name
            ),
        };
        self.check_name(name)?;
        let module = format!("{name}.{}", self.extension);
        let readme = README
            .replace("{{name}}", name)
            .replace("{{kind}}", kind_name)
            .replace("{{lang}}", self.name)
            .replace("{{source}}", &module)
            .replace("{{sdk}}", self.sdk.0)
            .replace("{{tool}}", self.tool)
            .replace("{{size}}", self.size)
            .replace("{{test}}", test)
            .replace("{{run}}", run);
        let mut files = vec![
            (module, source.replace("{{name}}", name)),
            (self.sdk.0.to_string(), self.sdk.1.to_string()),
            ("wit/plugin.wit".to_string(), CONTRACT.to_string()),
            ("README.md".to_string(), readme),
        ];
        files.extend(
            self.files
                .iter()
                .map(|(file, text)| (file.to_string(), text.replace("{{name}}", name))),
        );
        Ok(files)
    }

    /// The plugin is the module `NAME.EXT`: a name that is the SDK's, or (in
    /// Python) one of the standard library's as the `python3` here lists
    /// them, would hide that module.
    fn check_name(&self, name: &str) -> Result<()> {
        let stdlib = || {
            self.extension == "py"
                && std::process::Command::new("python3")
                    .args([
                        "-c",
                        "import sys; sys.exit(sys.argv[1] not in sys.stdlib_module_names)",
                        name,
                    ])
                    .output()
                    .is_ok_and(|out| out.status.success())
        };
        let hidden = if name == "sluice" {
            "the Sluice SDK (`sluice`)".to_string()
        } else if stdlib() {
            format!("the {} standard library's module of that name", self.name)
        } else {
            return Ok(());
        };
        bail!(
            "plugin name {name:?}: its module {name}.{} would hide {hidden}, which the plugin needs; choose another name",
            self.extension
        )
    }
}
