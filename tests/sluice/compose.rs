//! The docker-compose demo cannot drift from the CLI: every Sluice service's
//! `command:` in `docker/compose.yaml` passes `host … --check`.

use sluice_tests::host;
use yaml_rust2::{Yaml, YamlLoader};

#[test]
fn every_sluice_command_in_the_compose_demo_passes_check() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docker/compose.yaml");
    let text = std::fs::read_to_string(path).expect("docker/compose.yaml");
    let docs = YamlLoader::load_from_str(&text).expect("valid YAML");
    let services = docs[0]["services"].as_hash().expect("a services map");
    let mut checked = Vec::new();
    for (name, service) in services {
        if service["image"].as_str() != Some("sluice") {
            continue;
        }
        let name = name.as_str().unwrap();
        let command: Vec<&str> = match &service["command"] {
            Yaml::Array(items) => items
                .iter()
                .map(|i| i.as_str().expect("a string"))
                .collect(),
            other => panic!("service {name}: command must be a list, not {other:?}"),
        };
        let mut args = command.clone();
        args.push("--check");
        let run = host(&args, "");
        assert_eq!(
            run.code,
            0,
            "service {name}: host {}\n{}",
            command.join(" "),
            run.stderr
        );
        assert!(run.stdout.contains("plugin 1:"), "{name}: {}", run.stdout);
        checked.push(name.to_string());
    }
    assert_eq!(checked, ["generator", "processor", "processor-kafka"]);
}
