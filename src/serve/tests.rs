//! Router-level tests of `dpwear serve` (no browser): every route, with real checkpoints (a
//! small private DP-MERF trained here, an unfinished one, a corrupt one, a link out of the
//! models folder), good, bad and hostile requests.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tower::ServiceExt;

use super::guard::HostPolicy;
use super::routes::{app, AppState};
use super::{state, ServeOptions};
use crate::data::{store, Dataset};
use crate::features::windows::WindowScheme;
use crate::pipeline::generator_job::{train, TrainObserver, TrainRequest};
use crate::privacy::accounting::ledger::AccountantKind;
use crate::privacy::accounting::PrivacyUnit;
use crate::training::generator::algorithm::Overrides;
use crate::training::generator::privacy::GenDpRequest;

const HOST: &str = "127.0.0.1:8765";

struct Quiet;
impl TrainObserver for Quiet {
    fn notice(&mut self, _: &str) {}
}

struct Fixture {
    _dir: tempfile::TempDir,
    models: PathBuf,
    real: PathBuf,
    private: PathBuf,
}

fn train_into(ds: &Path, out: &Path, stop_after: Option<u64>) {
    let req = TrainRequest {
        dataset: ds.to_path_buf(),
        kind: crate::models::generator_spec::GeneratorKind::DpMerf,
        mode: crate::models::generator_spec::GeneratorMode::Default,
        exclude: vec![],
        scheme: WindowScheme::NonOverlapping,
        dp: Some(GenDpRequest {
            target_epsilon: 5.0,
            delta: Some(1e-5),
            accountant: AccountantKind::Rdp,
            unit: PrivacyUnit::Window,
            clip_norm: 1.0,
            reproducible_noise: false,
        }),
        overrides: Overrides {
            steps: Some(20),
            ..Overrides::default()
        },
        seed: 3,
        threads: 1,
        device: tch::Device::Cpu,
        checkpoint_every: 5,
        out: out.to_path_buf(),
        force: false,
        wait_for_lock: false,
        stop_after,
    };
    let r = train(&req, &mut Quiet);
    if stop_after.is_none() {
        r.expect("tiny DP-MERF trains");
    }
}

/// Trained once per test process.
fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let ds = crate::data::simulator::simulate(&crate::data::simulator::SimulatorConfig {
            subjects: 3,
            seed: 11,
            minutes_scale: 0.3,
            ..Default::default()
        })
        .unwrap();
        let real = dir.path().join("real.h5");
        store::write_dataset(&real, &ds).unwrap();
        let models = dir.path().join("models");
        let private = models.join("runs/dp-merf eps5");
        train_into(&real, &private, None);
        train_into(&real, &models.join("unfinished"), Some(5));
        // A tabular (BGAN) card is not a window generator: listed as skipped.
        let tabular = models.join("tabular-bgan");
        std::fs::create_dir_all(&tabular).unwrap();
        for f in std::fs::read_dir(&private).unwrap() {
            let f = f.unwrap().path();
            if f.is_file() && !f.file_name().unwrap().to_string_lossy().starts_with('.') {
                std::fs::copy(&f, tabular.join(f.file_name().unwrap())).unwrap();
            }
        }
        let card_path = tabular.join("model-card.json");
        let mut card: Value = serde_json::from_slice(&std::fs::read(&card_path).unwrap()).unwrap();
        card["generator"] = "bgan".into();
        std::fs::write(&card_path, card.to_string()).unwrap();
        let broken = models.join("broken");
        std::fs::create_dir_all(&broken).unwrap();
        std::fs::write(broken.join("model-card.json"), b"{not json").unwrap();
        // A link to a checkpoint outside the models folder is never followed.
        let outside = dir.path().join("outside");
        train_into(&real, &outside, None);
        #[cfg(unix)]
        std::os::unix::fs::symlink(&outside, models.join("link-out")).unwrap();
        Fixture {
            _dir: dir,
            models,
            real,
            private,
        }
    })
}

fn server(with_real: bool) -> (Router, Arc<AppState>) {
    let f = fixture();
    let opts = ServeOptions {
        models: f.models.clone(),
        bind: HOST.parse().unwrap(),
        allow_hosts: vec![],
        real: with_real.then(|| f.real.clone()),
        threads: Some(1),
    };
    let s = state(&opts).unwrap();
    (app(s.clone(), HostPolicy::new(opts.bind, &[])), s)
}

fn get(uri: &str) -> Request<Body> {
    Request::get(uri)
        .header(header::HOST, HOST)
        .body(Body::empty())
        .unwrap()
}

fn post_json(body: &Value) -> Request<Body> {
    Request::post("/api/jobs")
        .header(header::HOST, HOST)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .unwrap()
}

async fn send(app: &Router, req: Request<Body>) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    let r = app.clone().oneshot(req).await.unwrap();
    let status = r.status();
    let headers = r.headers().clone();
    let body = r.into_body().collect().await.unwrap().to_bytes().to_vec();
    (status, headers, body)
}

async fn send_json(app: &Router, req: Request<Body>) -> (StatusCode, Value) {
    let (status, _, body) = send(app, req).await;
    let v = serde_json::from_slice(&body)
        .unwrap_or_else(|_| json!({"raw": String::from_utf8_lossy(&body)}));
    (status, v)
}

fn private_id(s: &AppState) -> String {
    s.registry
        .models
        .iter()
        .find(|m| m.name == "runs/dp-merf eps5")
        .unwrap()
        .id
        .clone()
}

/// Follows a job's event stream to its final state; returns the states seen.
async fn follow(app: &Router, id: &str) -> Vec<Value> {
    let r = app
        .clone()
        .oneshot(get(&format!("/api/jobs/{id}/events")))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.headers()[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("text/event-stream"));
    let mut body = r.into_body();
    let mut text = String::new();
    let mut states = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    loop {
        let frame = tokio::time::timeout_at(deadline, body.frame())
            .await
            .expect("the job ends within 120 s");
        let Some(frame) = frame else { break };
        if let Ok(data) = frame.unwrap().into_data() {
            text.push_str(&String::from_utf8_lossy(&data));
        }
        while let Some(end) = text.find("\n\n") {
            let event: String = text.drain(..end + 2).collect();
            if let Some(data) = event.lines().find_map(|l| l.strip_prefix("data: ")) {
                assert!(event.contains("event: state"), "{event}");
                states.push(serde_json::from_str::<Value>(data).unwrap());
            }
        }
    }
    states
}

#[tokio::test]
async fn pages_and_assets_are_served_with_security_headers() {
    let (app, _) = server(false);
    for page in ["/", "/models", "/about"] {
        let (status, h, body) = send(&app, get(page)).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        assert!(h[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/html"));
        assert!(h[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap()
            .contains("default-src 'self'"));
        assert_eq!(h[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert_eq!(h[header::X_FRAME_OPTIONS], "DENY");
        assert!(String::from_utf8_lossy(&body).contains("<html"), "{page}");
    }
    for (name, kind) in [
        ("app.js", "text/javascript"),
        ("uPlot.iife.min.js", "text/javascript"),
        ("app.css", "text/css"),
        ("uPlot-LICENSE.txt", "text/plain"),
    ] {
        let (status, h, _) = send(&app, get(&format!("/assets/{name}"))).await;
        assert_eq!(status, StatusCode::OK, "{name}");
        assert!(h[header::CONTENT_TYPE].to_str().unwrap().starts_with(kind));
    }
    for bad in [
        "/assets/..%2FCargo.toml",
        "/assets/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
        "/assets/vendor%2FuPlot.min.css",
        "/../Cargo.toml",
        "/api/nothing",
    ] {
        let (status, h, _) = send(&app, get(bad)).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{bad}");
        assert_eq!(h[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    }
}

#[tokio::test]
async fn the_registry_lists_checkpoints_under_the_folder_with_their_cards() {
    let (app, s) = server(false);
    let (status, v) = send_json(&app, get("/api/models")).await;
    assert_eq!(status, StatusCode::OK);
    let models = v["models"].as_array().unwrap();
    let names: Vec<&str> = models.iter().map(|m| m["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        vec!["runs/dp-merf eps5", "unfinished"],
        "the link out is not followed"
    );
    let skipped = v["skipped"].as_array().unwrap();
    assert_eq!(skipped.len(), 2, "{skipped:?}");
    assert_eq!(skipped[0]["name"], "broken");
    assert_eq!(skipped[1]["name"], "tabular-bgan");
    assert!(skipped[1]["reason"].as_str().unwrap().contains("bgan"));
    let root = fixture().models.display().to_string();
    assert!(!v.to_string().contains(&root), "no server path leaks: {v}");

    let card = crate::training::generator::checkpoint::read_card(&fixture().private).unwrap();
    let m = &models[0];
    assert_eq!(m["complete"], true);
    assert_eq!(m["private"], true);
    assert_eq!(
        m["epsilon"].as_f64(),
        Some(card.privacy.as_ref().unwrap().epsilon_spent)
    );
    assert_eq!(m["delta"].as_f64(), Some(1e-5));
    assert_eq!(m["accountant"], "rdp");
    assert_eq!(m["unit"], "window");
    assert_eq!(m["generator"], "dp-merf");
    assert_eq!(
        m["generator_sha256"].as_str(),
        Some(card.generator_file.unwrap().sha256.as_str())
    );
    assert!(!m["not_covered"].as_array().unwrap().is_empty());
    assert_eq!(models[1]["complete"], false);

    let id = private_id(&s);
    let (status, v) = send_json(&app, get(&format!("/api/models/{id}"))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(v["card"]["kind"], "dpwear-generator-card");
    for bad in [
        "nope",
        "..",
        "..%2F..%2Fetc",
        "%2e%2e",
        "runs%2Fdp-merf%20eps5",
    ] {
        let (status, v) = send_json(&app, get(&format!("/api/models/{bad}"))).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{bad}: {v}");
    }
}

#[tokio::test]
async fn hostile_and_malformed_requests_are_refused_with_reasons() {
    let (app, s) = server(false);
    let id = private_id(&s);
    let good = json!({"model": id, "subjects": 2, "windows_per_subject": 4, "stress_fraction": 0.3, "seed": 1});

    // DNS rebinding: a foreign Host header (or none).
    let r = Request::get("/api/models")
        .header(header::HOST, "evil.example:8765")
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(&app, r).await.0, StatusCode::MISDIRECTED_REQUEST);
    let r = Request::get("/").body(Body::empty()).unwrap();
    assert_eq!(send(&app, r).await.0, StatusCode::MISDIRECTED_REQUEST);
    // Cross-site state changes.
    let mut r = post_json(&good);
    r.headers_mut()
        .insert("sec-fetch-site", "cross-site".parse().unwrap());
    assert_eq!(send(&app, r).await.0, StatusCode::FORBIDDEN);
    let mut r = post_json(&good);
    r.headers_mut()
        .insert(header::ORIGIN, "http://evil.example".parse().unwrap());
    assert_eq!(send(&app, r).await.0, StatusCode::FORBIDDEN);
    let r = Request::delete("/api/jobs/j1")
        .header(header::HOST, HOST)
        .header("sec-fetch-site", "same-site")
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(&app, r).await.0, StatusCode::FORBIDDEN);
    // A form post (no JSON content type) never starts work.
    let r = Request::post("/api/jobs")
        .header(header::HOST, HOST)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from("model=x"))
        .unwrap();
    assert_eq!(send(&app, r).await.0, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    // Oversized and malformed bodies.
    let big = json!({"model": "x".repeat(20_000), "subjects": 1, "windows_per_subject": 1});
    assert_eq!(
        send(&app, post_json(&big)).await.0,
        StatusCode::PAYLOAD_TOO_LARGE
    );
    let r = Request::post("/api/jobs")
        .header(header::HOST, HOST)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from("{\"model\": "))
        .unwrap();
    assert_eq!(send(&app, r).await.0, StatusCode::BAD_REQUEST);
    let mut extra = good.clone();
    extra["path"] = "/etc/passwd".into();
    assert_eq!(
        send_json(&app, post_json(&extra)).await.0,
        StatusCode::BAD_REQUEST
    );
    // Values out of range name their field.
    for (field, value, expect) in [
        ("subjects", json!(0), "subjects"),
        ("subjects", json!(-3), "subjects"),
        ("subjects", json!("2"), "subjects"),
        ("windows_per_subject", json!(1e9), "windows_per_subject"),
        ("windows_per_subject", json!(10_001), "windows_per_subject"),
        ("stress_fraction", json!(1.5), "stress_fraction"),
        ("stress_fraction", json!("NaN"), "stress_fraction"),
        ("seed", json!(-1), "seed"),
        ("seed", json!(1u64 << 60), "seed"),
        (
            "stress_ratio_range",
            json!([0.4, 0.2]),
            "stress_ratio_range",
        ),
        ("stress_ratio_range", json!([0.1]), "stress_ratio_range"),
        ("max_tries", json!(0), "max_tries"),
    ] {
        let mut body = good.clone();
        body[field] = value.clone();
        let (status, v) = send_json(&app, post_json(&body)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{field}={value}: {v}");
        assert_eq!(v["field"], expect, "{field}={value}: {v}");
    }
    let mut total = good.clone();
    total["subjects"] = json!(3);
    total["windows_per_subject"] = json!(10_000);
    let (status, v) = send_json(&app, post_json(&total)).await;
    assert_eq!(
        (status, v["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("windows_per_subject")),
        "{v}"
    );
    assert!(v["error"].as_str().unwrap().contains("30000"), "{v}");
    let mut none = good.clone();
    none["windows_per_subject"] = json!(1);
    none["stress_fraction"] = json!(0.5);
    let (status, v) = send_json(&app, post_json(&none)).await;
    assert_eq!(
        (status, v["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("stress_fraction")),
        "{v}"
    );
    // Unknown and unfinished models.
    for bad in ["../runs", "nope-12345678"] {
        let mut body = good.clone();
        body["model"] = bad.into();
        assert_eq!(
            send_json(&app, post_json(&body)).await.0,
            StatusCode::NOT_FOUND,
            "{bad}"
        );
    }
    let unfinished = s
        .registry
        .models
        .iter()
        .find(|m| m.name == "unfinished")
        .unwrap()
        .id
        .clone();
    let mut body = good.clone();
    body["model"] = unfinished.into();
    assert_eq!(
        send_json(&app, post_json(&body)).await.0,
        StatusCode::CONFLICT
    );
    // Unknown jobs, subjects, formats.
    for uri in [
        "/api/jobs/nope",
        "/api/jobs/..%2F..",
        "/api/jobs/j0/events",
        "/api/jobs/j0/download?format=csv",
    ] {
        assert_eq!(send(&app, get(uri)).await.0, StatusCode::NOT_FOUND, "{uri}");
    }
    assert!(
        s.jobs.get("nope").is_none(),
        "nothing was queued by refused requests"
    );
}

#[tokio::test]
async fn one_generation_at_a_time_and_a_queued_job_can_be_cancelled() {
    let (app, s) = server(false);
    let id = private_id(&s);
    // A job the worker never sees stays queued: the page must refuse a second one.
    let queued = s.jobs.add(&id, super::jobs::test_request(1)).unwrap();
    let body = json!({"model": id, "subjects": 1, "windows_per_subject": 4});
    let (status, v) = send_json(&app, post_json(&body)).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{v}");
    let r = Request::delete(format!("/api/jobs/{}", queued.id))
        .header(header::HOST, HOST)
        .body(Body::empty())
        .unwrap();
    let (status, v) = send_json(&app, r).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(v["state"]["phase"], "cancelled");
    let states = follow(&app, &queued.id).await;
    assert_eq!(
        states.len(),
        1,
        "a final job's stream sends its state and ends"
    );
    let (status, _) = send_json(
        &app,
        get(&format!("/api/jobs/{}/download?format=csv", queued.id)),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    // Now a job is accepted, with a seed drawn by the server when none is given.
    let (status, v) = send_json(&app, post_json(&body)).await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    assert!(v["seed"].as_u64().unwrap() < 1 << 31);
    let states = follow(&app, v["id"].as_str().unwrap()).await;
    assert_eq!(states.last().unwrap()["phase"], "done");
}

fn csv_body(text: &str) -> String {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| format!("{l}\n"))
        .collect()
}

#[tokio::test]
async fn a_generation_streams_progress_and_serves_what_the_cli_writes() {
    let (app, s) = server(true);
    let id = private_id(&s);
    let body = json!({"model": id, "subjects": 2, "windows_per_subject": 4, "stress_fraction": 0.3, "seed": 42});
    let (status, v) = send_json(&app, post_json(&body)).await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    assert_eq!(v["seed"], 42);
    let job = v["id"].as_str().unwrap().to_string();

    let states = follow(&app, &job).await;
    let last = states.last().unwrap();
    assert_eq!(last["phase"], "done", "{states:?}");
    assert_eq!(
        (last["done"].as_u64(), last["total"].as_u64()),
        (Some(2), Some(2))
    );
    let seqs: Vec<u64> = states.iter().map(|s| s["seq"].as_u64().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");

    let (status, v) = send_json(&app, get(&format!("/api/jobs/{job}"))).await;
    assert_eq!(status, StatusCode::OK);
    let result = &v["result"];
    assert_eq!(result["subjects"].as_array().unwrap().len(), 2);
    assert_eq!(
        result["subjects"][0]["windows"], 3,
        "⌊0.7·4⌋ + ⌊0.3·4⌋ windows"
    );
    assert_eq!(result["subjects"][0]["stress_windows"], 1);
    assert_eq!(result["summary"].as_array().unwrap().len(), 6);
    let cli = result["cli"].as_str().unwrap();
    assert!(
        cli.contains("--subjects 2 --windows-per-subject 4 --stress-fraction 0.3 --seed 42"),
        "{cli}"
    );
    assert!(
        cli.contains("'"),
        "the folder with a space is quoted: {cli}"
    );

    let (status, v) = send_json(&app, get(&format!("/api/jobs/{job}/subjects/1002"))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(v["values"].as_array().unwrap().len(), 6);
    assert_eq!(v["values"][0].as_array().unwrap().len(), 180);
    assert_eq!(v["labels"].as_array().unwrap().len(), 180);
    for bad in ["9999", "abc", "-1"] {
        let (status, _) = send_json(&app, get(&format!("/api/jobs/{job}/subjects/{bad}"))).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{bad}");
    }

    // What the CLI writes for the same request.
    let req = super::jobs::test_request(42);
    let (direct, card) = crate::pipeline::sample_job::sample(&fixture().private, &req).unwrap();
    let mut expected = Vec::new();
    crate::pipeline::synthetic_output::write_csv(&mut expected, &direct, &[]).unwrap();

    let (status, h, bytes) = send(&app, get(&format!("/api/jobs/{job}/download?format=csv"))).await;
    assert_eq!(status, StatusCode::OK);
    assert!(h[header::CONTENT_DISPOSITION]
        .to_str()
        .unwrap()
        .contains(&format!("dpwear_{id}_seed42.csv")));
    let text = String::from_utf8(bytes).unwrap();
    assert_eq!(csv_body(&text), String::from_utf8(expected).unwrap());
    let eps = card.privacy.as_ref().unwrap().epsilon_spent;
    assert!(
        text.lines().any(|l| l == format!("# epsilon: {eps}")),
        "{}",
        &text[..400]
    );
    assert!(text.lines().any(|l| l == "# seed: 42"));
    // dpwear reads its own download back.
    let dir = tempfile::tempdir().unwrap();
    let csv_path = dir.path().join("down.csv");
    std::fs::write(&csv_path, &text).unwrap();
    let back =
        crate::data::reference_csv::read_reference_csv(&csv_path, crate::data::LabelMap::Binary)
            .unwrap();
    assert_eq!(back.subjects.len(), 2);
    assert_eq!(back.subjects[1].labels, direct.subjects[1].labels);

    let (status, _, bytes) = send(&app, get(&format!("/api/jobs/{job}/download?format=h5"))).await;
    assert_eq!(status, StatusCode::OK);
    let h5 = dir.path().join("down.h5");
    std::fs::write(&h5, bytes).unwrap();
    let stored: Dataset = store::read_dataset(&h5).unwrap();
    assert_eq!(stored.subjects.len(), 2);
    assert_eq!(stored.subjects[0].channels, direct.subjects[0].channels);
    assert!(stored.source.note.contains("\"seed\":42"));

    let (status, _, bytes) = send(&app, get(&format!("/api/jobs/{job}/download?format=npz"))).await;
    assert_eq!(status, StatusCode::OK);
    let mut npz = ndarray_npy::NpzReader::new(std::io::Cursor::new(bytes)).unwrap();
    let windows: ndarray::Array3<f32> = npz.by_name("windows").unwrap();
    assert_eq!(windows.shape(), &[6, 60, 6]);
    let manifest: ndarray::Array1<u8> = npz.by_name("manifest").unwrap();
    let manifest: Value = serde_json::from_slice(&manifest.to_vec()).unwrap();
    assert_eq!(manifest["request"]["seed"], 42);
    assert_eq!(manifest["epsilon"].as_f64(), Some(eps));

    let (status, _) = send_json(&app, get(&format!("/api/jobs/{job}/download?format=exe"))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let (status, v) = send_json(&app, get(&format!("/api/jobs/{job}/compare"))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(v["channels"].as_array().unwrap().len(), 6);
    assert_eq!(v["real"]["subjects"], 3);
    assert_eq!(v["correlation"]["synthetic"].as_array().unwrap().len(), 6);
}

#[tokio::test]
async fn without_a_real_store_there_is_no_comparison() {
    let (app, _) = server(false);
    let (status, v) = send_json(&app, get("/api/info")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(v["real"], Value::Null);
    assert_eq!(v["limits"]["max_subjects"], 1000);
    let (status, _) = send_json(&app, get("/api/jobs/j0/compare")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[test]
fn non_loopback_binds_need_named_hosts() {
    let mut opts = ServeOptions {
        models: PathBuf::from("."),
        bind: "0.0.0.0:8765".parse().unwrap(),
        allow_hosts: vec![],
        real: None,
        threads: None,
    };
    let e = super::check_options(&opts).unwrap_err().to_string();
    assert!(e.contains("--allow-host"), "{e}");
    opts.allow_hosts = vec!["node7.cluster".into()];
    super::check_options(&opts).unwrap();
    opts.allow_hosts = vec!["a b".into()];
    assert!(super::check_options(&opts).is_err());
    let _ = Method::GET;
}
