//! The HTTP routes (see `docs/serve.md` for the API): pages and assets, the model registry,
//! jobs (create, state, events, cancel), a job's subjects, downloads and the comparison with
//! a real store. Handlers validate everything a client sends (ids by syntax and lookup, form
//! values by range) and answer errors as JSON.
//!
//! May depend on: axum, tokio, the serve submodules.

use std::convert::Infallible;
use std::sync::mpsc::SyncSender;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::sync::{mpsc, Semaphore};
use tokio_stream::wrappers::ReceiverStream;

use super::assets;
use super::compare::RealStats;
use super::downloads::{self, Format};
use super::error::ApiError;
use super::guard::{guard, HostPolicy};
use super::jobs::{AddRefused, Job, Jobs, Phase};
use super::registry::{valid_id, Registry};
use super::worker::Order;
use crate::data::CHANNELS;
use crate::training::generator::synthesize::{SubjectsRequest, DEFAULT_MAX_TRIES};

/// Largest request body (the job form is a few dozen bytes).
pub const MAX_BODY: usize = 16 * 1024;
/// Requests handled at once (the rest wait).
pub const MAX_IN_FLIGHT: usize = 64;
/// Open event streams at once (more get 429).
pub const MAX_EVENT_STREAMS: usize = 32;

/// Limits of one generation on the page.
pub const MAX_SUBJECTS: usize = 1_000;
pub const MAX_WINDOWS_PER_SUBJECT: usize = 10_000;
pub const MAX_TOTAL_WINDOWS: usize = 20_000;
/// DoppelGANger's draws per subject at most (each draw is a whole subject).
pub const MAX_TRIES: usize = 100_000;
/// Seeds are JavaScript-safe integers.
pub const MAX_SEED: u64 = (1 << 53) - 1;

/// Everything the handlers share.
pub struct AppState {
    pub registry: Arc<Registry>,
    pub jobs: Jobs,
    pub worker: SyncSender<Order>,
    pub real: Option<RealStats>,
    pub event_streams: Arc<Semaphore>,
}

type Shared = Arc<AppState>;

/// The application: routes, body limit, concurrency limit and the guards.
pub fn app(state: Shared, hosts: HostPolicy) -> Router {
    let mut router = Router::new();
    for (route, page) in assets::PAGES {
        let page: &'static [u8] = page;
        router = router.route(route, get(move || async move { html(page) }));
    }
    router
        .route("/assets/{name}", get(asset))
        .route("/favicon.ico", get(|| async { StatusCode::NO_CONTENT }))
        .route("/api/info", get(info))
        .route("/api/models", get(models))
        .route("/api/models/{id}", get(model))
        .route("/api/jobs", axum::routing::post(create_job))
        .route("/api/jobs/{id}", get(job_state).delete(cancel_job))
        .route("/api/jobs/{id}/events", get(events))
        .route("/api/jobs/{id}/subjects/{sid}", get(subject))
        .route("/api/jobs/{id}/download", get(download))
        .route("/api/jobs/{id}/compare", get(compare))
        .fallback(|| async { ApiError::not_found("no such page or API route") })
        .with_state(state)
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(tower::limit::ConcurrencyLimitLayer::new(MAX_IN_FLIGHT))
        .layer(axum::middleware::from_fn_with_state(hosts, guard))
}

fn html(page: &'static [u8]) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        page,
    )
        .into_response()
}

async fn asset(Path(name): Path<String>) -> Response {
    match assets::asset(&name) {
        Some((content_type, bytes)) => (
            [
                (header::CONTENT_TYPE, content_type),
                (header::CACHE_CONTROL, "no-cache"),
            ],
            bytes,
        )
            .into_response(),
        None => ApiError::not_found("no such asset").into_response(),
    }
}

async fn info(State(s): State<Shared>) -> Json<Value> {
    Json(json!({
        "version": env!("CARGO_PKG_VERSION"),
        "real": s.real.as_ref().map(|r| r.describe()),
        "limits": {
            "max_subjects": MAX_SUBJECTS,
            "max_windows_per_subject": MAX_WINDOWS_PER_SUBJECT,
            "max_total_windows": MAX_TOTAL_WINDOWS,
            "max_seed": MAX_SEED,
            "max_tries": MAX_TRIES,
        },
    }))
}

async fn models(State(s): State<Shared>) -> Json<Value> {
    let list: Vec<Value> = s.registry.models.iter().map(|m| m.summary()).collect();
    Json(json!({ "models": list, "skipped": s.registry.skipped }))
}

fn unknown_model(id: &str) -> ApiError {
    if valid_id(id) {
        ApiError::not_found(format!("unknown model {id}"))
    } else {
        ApiError::not_found("unknown model (ids are letters, digits, '.', '_', '-')")
    }
}

async fn model(State(s): State<Shared>, Path(id): Path<String>) -> Result<Json<Value>, ApiError> {
    let m = s.registry.get(&id).ok_or_else(|| unknown_model(&id))?;
    Ok(Json(json!({ "model": m.summary(), "card": m.card })))
}

/// The job form.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct JobBody {
    model: Value,
    subjects: Value,
    windows_per_subject: Value,
    #[serde(default)]
    stress_fraction: Option<Value>,
    #[serde(default)]
    seed: Option<Value>,
    /// DoppelGANger only: the accepted stress-second fraction per subject, `[low, high]`
    /// (default: around the stress fraction, as the generator stage does).
    #[serde(default)]
    stress_ratio_range: Option<Value>,
    /// DoppelGANger only: draws per subject before rejection sampling gives up.
    #[serde(default)]
    max_tries: Option<Value>,
}

fn whole(v: &Value, field: &'static str, label: &str, lo: u64, hi: u64) -> Result<u64, ApiError> {
    let n = v.as_u64().filter(|n| (lo..=hi).contains(n));
    n.ok_or_else(|| {
        ApiError::field(
            field,
            format!("{label} must be a whole number in {lo}..={hi}"),
        )
    })
}

/// Checks the form and turns it into a sampling request for `model`.
fn job_request(s: &AppState, body: &JobBody) -> Result<(String, SubjectsRequest), ApiError> {
    let id = body
        .model
        .as_str()
        .ok_or_else(|| ApiError::field("model", "model must be a model id (a string)"))?;
    let model = s.registry.get(id).ok_or_else(|| unknown_model(id))?;
    if !model.card.is_complete() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            format!(
                "model {} holds an unfinished training ({} of {} steps); finish it with the same `dpwear gan train` command",
                model.id, model.card.training.steps_done, model.card.training.steps_total
            ),
        ));
    }
    let subjects = whole(
        &body.subjects,
        "subjects",
        "subjects",
        1,
        MAX_SUBJECTS as u64,
    )? as usize;
    let windows = whole(
        &body.windows_per_subject,
        "windows_per_subject",
        "windows per subject",
        1,
        MAX_WINDOWS_PER_SUBJECT as u64,
    )? as usize;
    if subjects * windows > MAX_TOTAL_WINDOWS {
        return Err(ApiError::field(
            "windows_per_subject",
            format!(
                "subjects × windows per subject = {} is above this page's limit of {MAX_TOTAL_WINDOWS} windows (use `dpwear gan generate` for more)",
                subjects * windows
            ),
        ));
    }
    let stress_fraction = match &body.stress_fraction {
        None | Some(Value::Null) => 0.3,
        Some(v) => v
            .as_f64()
            .filter(|f| (0.0..=1.0).contains(f))
            .ok_or_else(|| {
                ApiError::field(
                    "stress_fraction",
                    "stress fraction must be a number in [0, 1]",
                )
            })?,
    };
    let seed = match &body.seed {
        None | Some(Value::Null) => s.jobs.fresh_seed(),
        Some(v) => whole(v, "seed", "seed", 0, MAX_SEED)?,
    };
    let stress_ratio_range = match &body.stress_ratio_range {
        None | Some(Value::Null) => SubjectsRequest::ratio_range_around(stress_fraction),
        Some(v) => {
            let pair = v.as_array().and_then(|a| match a.as_slice() {
                [lo, hi] => Some((lo.as_f64()?, hi.as_f64()?)),
                _ => None,
            });
            pair.filter(|&(lo, hi)| 0.0 <= lo && lo <= hi && hi <= 1.0)
                .ok_or_else(|| {
                    ApiError::field(
                        "stress_ratio_range",
                        "stress ratio range must be [low, high] with 0 <= low <= high <= 1",
                    )
                })?
        }
    };
    let max_tries = match &body.max_tries {
        None | Some(Value::Null) => DEFAULT_MAX_TRIES,
        Some(v) => whole(v, "max_tries", "max tries", 1, MAX_TRIES as u64)? as usize,
    };
    let req = SubjectsRequest {
        subjects,
        windows_per_subject: windows,
        stress_fraction,
        stress_ratio_range,
        max_tries,
        seed,
    };
    // `validate` refuses this too, in the command line's words; here it names the field.
    let (non, stress) = req.split();
    if non + stress == 0 {
        return Err(ApiError::field(
            "stress_fraction",
            format!("{windows} windows per subject with stress fraction {stress_fraction} give no window (⌊(1−f)·n⌋ + ⌊f·n⌋ = 0)"),
        ));
    }
    req.validate(model.card.data.label_map)
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, e))?;
    Ok((model.id.clone(), req))
}

async fn create_job(
    State(s): State<Shared>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let json_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
    if !json_type {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send the job as Content-Type: application/json",
        ));
    }
    let body = body.map_err(|e| {
        let status = e.status();
        if status == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(status, format!("request body larger than {MAX_BODY} bytes"))
        } else {
            ApiError::new(status, e.body_text())
        }
    })?;
    let form: JobBody = serde_json::from_slice(&body).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("the job is not valid JSON of the expected shape: {e}"),
        )
    })?;
    let (model_id, req) = job_request(&s, &form)?;
    let job = s.jobs.add(&model_id, req).map_err(|AddRefused::Busy| {
        ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "a generation is already running; wait for it or cancel it",
        )
    })?;
    if s.worker.try_send(Order { job: job.clone() }).is_err() {
        job.publish(Phase::Error, 0, "the generation worker is not available");
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "the generation worker is busy or stopped",
        ));
    }
    let answer = json!({ "id": job.id, "seed": req.seed, "state": job.state() });
    let mut r = (StatusCode::CREATED, Json(answer)).into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("/api/jobs/{}", job.id)) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    Ok(r)
}

fn find_job(s: &AppState, id: &str) -> Result<Arc<Job>, ApiError> {
    s.jobs
        .get(id)
        .ok_or_else(|| ApiError::not_found("unknown job (finished jobs are kept only for a while)"))
}

fn result_json(job: &Job) -> Value {
    match job.output() {
        None => Value::Null,
        Some(out) => {
            let mut r = out.result.clone();
            r["downloads"] = json!({
                "csv": format!("/api/jobs/{}/download?format=csv", job.id),
                "h5": format!("/api/jobs/{}/download?format=h5", job.id),
                "npz": format!("/api/jobs/{}/download?format=npz", job.id),
            });
            r
        }
    }
}

async fn job_state(
    State(s): State<Shared>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let job = find_job(&s, &id)?;
    let r = &job.request;
    Ok(Json(json!({
        "id": job.id,
        "model": job.model_id,
        "request": {
            "subjects": r.subjects,
            "windows_per_subject": r.windows_per_subject,
            "stress_fraction": r.stress_fraction,
            "seed": r.seed,
        },
        "state": job.state(),
        "result": result_json(&job),
    })))
}

async fn cancel_job(State(s): State<Shared>, Path(id): Path<String>) -> Result<Response, ApiError> {
    let job = find_job(&s, &id)?;
    job.cancel();
    Ok((StatusCode::ACCEPTED, Json(json!({ "state": job.state() }))).into_response())
}

async fn events(State(s): State<Shared>, Path(id): Path<String>) -> Result<Response, ApiError> {
    let job = find_job(&s, &id)?;
    let permit = s.event_streams.clone().try_acquire_owned().map_err(|_| {
        ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too many open progress streams",
        )
    })?;
    let mut states = job.subscribe();
    drop(job);
    let (tx, rx) = mpsc::channel::<Result<Event, Infallible>>(8);
    tokio::spawn(async move {
        let _permit = permit;
        loop {
            let state = states.borrow_and_update().clone();
            let event = Event::default()
                .event("state")
                .id(state.seq.to_string())
                .json_data(&state)
                .expect("a job state serialises");
            if tx.send(Ok(event)).await.is_err() || state.phase.is_final() {
                break;
            }
            tokio::select! {
                changed = states.changed() => if changed.is_err() { break },
                _ = tx.closed() => break,
            }
        }
    });
    Ok(Sse::new(ReceiverStream::new(rx))
        .keep_alive(KeepAlive::default())
        .into_response())
}

fn finished(
    s: &AppState,
    id: &str,
) -> Result<(Arc<Job>, Arc<super::results::JobOutput>), ApiError> {
    let job = find_job(s, id)?;
    let out = job.output().ok_or_else(|| {
        ApiError::new(
            StatusCode::CONFLICT,
            format!(
                "job {} has no result (it is {:?})",
                job.id,
                job.state().phase
            )
            .to_lowercase(),
        )
    })?;
    Ok((job, out))
}

async fn subject(
    State(s): State<Shared>,
    Path((id, sid)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let (_, out) = finished(&s, &id)?;
    let sid: u32 = sid
        .parse()
        .map_err(|_| ApiError::not_found("unknown subject (ids are numbers such as 1001)"))?;
    let subj = out
        .dataset
        .subjects
        .iter()
        .find(|x| x.id == sid)
        .ok_or_else(|| ApiError::not_found(format!("job {id} has no subject {sid}")))?;
    Ok(Json(json!({
        "id": subj.id,
        "channels": CHANNELS,
        "values": subj.channels,
        "labels": subj.labels,
        "window_seconds": 60,
    })))
}

#[derive(Deserialize)]
struct DownloadQuery {
    format: Option<String>,
}

async fn download(
    State(s): State<Shared>,
    Path(id): Path<String>,
    Query(q): Query<DownloadQuery>,
) -> Result<Response, ApiError> {
    let format = Format::parse(q.format.as_deref().unwrap_or("csv"))?;
    let (job, out) = finished(&s, &id)?;
    let filename = format!(
        "dpwear_{}_seed{}.{}",
        job.model_id,
        job.request.seed,
        format.ext()
    );
    downloads::download(out, format, filename).await
}

async fn compare(State(s): State<Shared>, Path(id): Path<String>) -> Result<Json<Value>, ApiError> {
    if s.real.is_none() {
        return Err(ApiError::not_found(
            "no real dataset store was given (--real)",
        ));
    }
    let (_, out) = finished(&s, &id)?;
    // Up to 20,000 windows: computed off the async threads.
    let value =
        tokio::task::spawn_blocking(move || s.real.as_ref().map(|real| real.compare(&out.dataset)))
            .await
            .map_err(|e| ApiError::internal(format!("comparison: {e}")))?;
    value
        .map(Json)
        .ok_or_else(|| ApiError::internal("the real store's statistics are gone"))
}
