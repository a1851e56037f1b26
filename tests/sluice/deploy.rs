//! deploy/k8s/ is valid and agrees with itself: Kubernetes' own schemas
//! accept the manifests (kubernetes-validate, from PyPI), the ConfigMap's
//! pipeline passes `host run --check`, and the probes, the Prometheus
//! annotations and the KEDA trigger name what that pipeline serves and reads.

use sluice_tests::host;
use std::path::PathBuf;
use std::process::Command;
use yaml_rust2::{Yaml, YamlLoader};

fn manifest(name: &str) -> (PathBuf, Yaml) {
    let path = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../deploy/k8s/")).join(name);
    let text = std::fs::read_to_string(&path).unwrap();
    let doc = YamlLoader::load_from_str(&text).unwrap().remove(0);
    (path, doc)
}

/// `kubernetes-validate --strict FILES`: (passed, output).
fn validate(files: &[&std::path::Path]) -> (bool, String) {
    let tool = sluice_tests::test_python(Some("kubernetes-validate"));
    let out = Command::new(&tool)
        .arg("--strict")
        .args(files)
        .output()
        .unwrap_or_else(|e| panic!("{} (scripts/test installs it): {e}", tool.display()));
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

#[test]
fn the_kubernetes_manifests_validate_and_agree_with_their_pipeline() {
    let (config_path, config) = manifest("configmap.yaml");
    let (deployment_path, deployment) = manifest("deployment.yaml");
    let (service_path, _) = manifest("service.yaml");
    let (ok, out) = validate(&[&config_path, &deployment_path, &service_path]);
    assert!(ok, "{out}");
    assert_eq!(out.matches("passed").count(), 3, "{out}");
    // The validator does catch a mistake.
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("deployment.yaml");
    let text = std::fs::read_to_string(&deployment_path).unwrap();
    std::fs::write(&broken, text.replace("replicas: 3", "replicas: three")).unwrap();
    assert!(!validate(&[&broken]).0, "a string replica count is refused");

    // The pipeline in the ConfigMap is one `host run` accepts.
    let pipeline = config["data"]["pipeline.toml"].as_str().unwrap();
    let file = dir.path().join("pipeline.toml");
    std::fs::write(&file, pipeline).unwrap();
    let check = host(
        &["run", "--pipeline", file.to_str().unwrap(), "--check"],
        "",
    );
    assert_eq!(check.code, 0, "{}", check.stderr);
    assert!(
        check.stdout.contains("live page: http://0.0.0.0:4040/"),
        "{}",
        check.stdout
    );
    let toml: toml::Table = pipeline.parse().unwrap();
    assert_eq!(
        toml["watch"].as_bool(),
        Some(true),
        "ConfigMap edits are swapped in"
    );

    // The Deployment runs that file, probes and scrapes the port it serves.
    let pod = &deployment["spec"]["template"];
    let container = &pod["spec"]["containers"][0];
    let args: Vec<&str> = container["args"]
        .as_vec()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert_eq!(args, ["run", "--pipeline", "/etc/sluice/pipeline.toml"]);
    assert_eq!(
        container["volumeMounts"][0]["mountPath"].as_str(),
        Some("/etc/sluice")
    );
    assert_eq!(container["ports"][0]["containerPort"].as_i64(), Some(4040));
    for probe in ["livenessProbe", "readinessProbe"] {
        assert_eq!(
            container[probe]["httpGet"]["path"].as_str(),
            Some("/healthz")
        );
    }
    assert_eq!(
        pod["metadata"]["annotations"]["prometheus.io/port"].as_str(),
        Some("4040")
    );
    let env = container["env"].as_vec().unwrap();
    assert!(
        env.iter()
            .any(|e| e["name"].as_str() == Some("SLUICE_INSTANCE_ID"))
    );

    // KEDA scales on the lag of the group and topic the pipeline reads.
    let (_, keda) = manifest("keda-scaledobject.yaml");
    let trigger = &keda["spec"]["triggers"][0]["metadata"];
    assert_eq!(trigger["consumerGroup"].as_str(), toml["group"].as_str());
    assert_eq!(trigger["topic"].as_str(), toml["topic"].as_str());
    assert_eq!(
        keda["spec"]["scaleTargetRef"]["name"].as_str(),
        deployment["metadata"]["name"].as_str()
    );
}
