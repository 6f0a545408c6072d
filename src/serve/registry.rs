//! The model registry: every generator checkpoint (a folder holding `model-card.json`) under
//! the `--models` folder, found once at start-up, each under an opaque id. Requests name models
//! only by these ids; the server never opens a path a client sent.
//!
//! The walk starts at the canonical `--models` folder, skips hidden entries, follows a
//! symbolic link only when its target lies inside that folder (each folder visited once), and
//! stops at [`MAX_DEPTH`] levels, [`MAX_FOLDERS`] folders and [`MAX_MODELS`] checkpoints. A
//! checkpoint whose card cannot be read is listed under `skipped` with the reason (paths
//! relative to the models folder).
//!
//! May depend on: training::generator::checkpoint, data::hash, serde_json.

use std::collections::{HashSet, VecDeque};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::error::ServeError;
use crate::data::hash::sha256_file;
use crate::data::CHANNELS;
use crate::training::generator::checkpoint::{read_card, ModelCard, CARD_FILE};

pub const MAX_DEPTH: usize = 8;
pub const MAX_FOLDERS: usize = 20_000;
pub const MAX_MODELS: usize = 2_000;

/// One checkpoint the server can show and sample.
#[derive(Debug)]
pub struct ModelEntry {
    /// Opaque id: `<slug>-<8 hex>`, characters `[A-Za-z0-9._-]`.
    pub id: String,
    /// The folder relative to the models folder (`/`-separated).
    pub name: String,
    /// The checkpoint folder (server side only).
    pub dir: PathBuf,
    pub card: ModelCard,
    pub card_sha256: String,
    /// The card file's modification time, UTC, RFC 3339.
    pub date: String,
}

/// A checkpoint that could not be listed.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Skipped {
    pub name: String,
    pub reason: String,
}

/// All checkpoints found.
#[derive(Debug)]
pub struct Registry {
    pub root: PathBuf,
    pub models: Vec<ModelEntry>,
    pub skipped: Vec<Skipped>,
}

/// True for a syntactically valid model or job id (checked before any lookup).
pub fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-')
        && id != "."
        && id != ".."
}

fn slug(name: &str) -> String {
    let parts: Vec<&str> = name.split('/').filter(|p| !p.is_empty()).collect();
    let tail = parts[parts.len().saturating_sub(2)..].join("-");
    let mut s: String = tail
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    s = s.trim_start_matches('.').to_string();
    s.truncate(40);
    if s.is_empty() {
        s = "model".into();
    }
    s
}

/// The id of the checkpoint at `name` (stable for a name).
pub fn model_id(name: &str) -> String {
    let digest = format!("{:x}", Sha256::digest(name.as_bytes()));
    format!("{}-{}", slug(name), &digest[..8])
}

/// Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// `t` as an RFC 3339 UTC timestamp with seconds.
pub fn rfc3339(t: std::time::SystemTime) -> String {
    let secs = match t.duration_since(std::time::UNIX_EPOCH) {
        Ok(d) => d.as_secs() as i64,
        Err(e) => -(e.duration().as_secs() as i64),
    };
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let s = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        s / 3600,
        (s / 60) % 60,
        s % 60
    )
}

fn relative(root: &Path, p: &Path) -> String {
    let rel = p.strip_prefix(root).unwrap_or(p);
    let s = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/");
    if s.is_empty() {
        ".".into()
    } else {
        s
    }
}

impl Registry {
    /// Walks `root` for checkpoints.
    pub fn scan(root: &Path) -> Result<Registry, ServeError> {
        let models_err = |message: String| ServeError::Models {
            path: root.display().to_string(),
            message,
        };
        let canonical = std::fs::canonicalize(root).map_err(|e| models_err(e.to_string()))?;
        if !canonical.is_dir() {
            return Err(models_err("not a folder".into()));
        }
        let mut registry = Registry {
            root: canonical.clone(),
            models: Vec::new(),
            skipped: Vec::new(),
        };
        let mut seen = HashSet::new();
        let mut queue = VecDeque::from([(canonical.clone(), 0usize)]);
        seen.insert(canonical.clone());
        let mut folders = 0;
        while let Some((dir, depth)) = queue.pop_front() {
            folders += 1;
            if folders > MAX_FOLDERS || registry.models.len() >= MAX_MODELS {
                tracing::warn!(
                    "stopped looking for checkpoints after {MAX_FOLDERS} folders or {MAX_MODELS} checkpoints"
                );
                break;
            }
            if dir.join(CARD_FILE).is_file() {
                registry.add(&dir);
                continue;
            }
            if depth >= MAX_DEPTH {
                continue;
            }
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            let mut children: Vec<PathBuf> = Vec::new();
            for entry in entries.flatten() {
                if entry.file_name().to_string_lossy().starts_with('.') {
                    continue;
                }
                let path = entry.path();
                let Ok(target) = std::fs::canonicalize(&path) else {
                    continue;
                };
                // A link out of the models folder is never followed.
                if !target.starts_with(&canonical) || !target.is_dir() {
                    continue;
                }
                if seen.insert(target.clone()) {
                    children.push(target);
                }
            }
            children.sort();
            queue.extend(children.into_iter().map(|c| (c, depth + 1)));
        }
        registry.models.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(registry)
    }

    fn add(&mut self, dir: &Path) {
        let name = relative(&self.root, dir);
        let root = self.root.display().to_string();
        match read_card(dir) {
            Ok(card)
                if !crate::models::generator_spec::GeneratorKind::ALL.contains(&card.generator) =>
            {
                self.skipped.push(Skipped {
                    name,
                    reason: format!(
                        "a {} checkpoint: the page generates sensor windows only",
                        card.generator
                    ),
                });
            }
            Ok(card) => {
                let card_path = dir.join(CARD_FILE);
                let card_sha256 = sha256_file(&card_path).unwrap_or_default();
                let date = std::fs::metadata(&card_path)
                    .and_then(|m| m.modified())
                    .map(rfc3339)
                    .unwrap_or_default();
                let mut id = model_id(&name);
                while self.models.iter().any(|m| m.id == id) {
                    id.push('_');
                }
                self.models.push(ModelEntry {
                    id,
                    name,
                    dir: dir.to_path_buf(),
                    card,
                    card_sha256,
                    date,
                });
            }
            Err(e) => {
                let reason = e.to_string().replace(&root, "<models>");
                tracing::warn!("skipping checkpoint {name}: {reason}");
                self.skipped.push(Skipped { name, reason });
            }
        }
    }

    pub fn get(&self, id: &str) -> Option<&ModelEntry> {
        if !valid_id(id) {
            return None;
        }
        self.models.iter().find(|m| m.id == id)
    }
}

fn enum_str<T: serde::Serialize>(v: &T) -> serde_json::Value {
    serde_json::to_value(v).unwrap_or(serde_json::Value::Null)
}

impl ModelEntry {
    /// True when the generator draws windows for requested labels (all but DoppelGANger).
    pub fn conditional(&self) -> bool {
        self.card.generator != crate::models::generator_spec::GeneratorKind::Dgan
    }

    /// The ε the card guarantees (spent), if private.
    pub fn epsilon(&self) -> Option<f64> {
        self.card.privacy.as_ref().map(|p| p.epsilon_spent)
    }

    /// The summary the API and pages show.
    pub fn summary(&self) -> serde_json::Value {
        let c = &self.card;
        let p = c.privacy.as_ref();
        serde_json::json!({
            "id": self.id,
            "name": self.name,
            "generator": enum_str(&c.generator),
            "mode": c.mode.as_str(),
            "conditional": self.conditional(),
            "complete": c.is_complete(),
            "private": p.is_some(),
            "epsilon": p.map(|p| p.epsilon_spent),
            "epsilon_target": p.map(|p| p.epsilon_target),
            "delta": p.map(|p| p.delta),
            "accountant": p.map(|p| enum_str(&p.accountant)),
            "unit": p.map(|p| enum_str(&p.unit)),
            "sampling": p.map(|p| enum_str(&p.sampling)),
            "privacy_statement": p.map(|p| p.statement.clone()).unwrap_or_else(|| c.privacy_summary.clone()),
            "not_covered": p.map(|p| p.not_covered.clone()).unwrap_or_default(),
            "steps_done": c.training.steps_done,
            "steps_total": c.training.steps_total,
            "private_steps": c.training.private_steps,
            "dataset": Path::new(&c.data.dataset).file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default(),
            "dataset_sha256": c.data.dataset_sha256,
            "simulated": c.data.simulated,
            "training_subjects": c.data.training_subjects,
            "excluded_subjects": c.data.excluded_subjects,
            "window_scheme": enum_str(&c.data.window_scheme),
            "windows": c.data.windows,
            "window_seconds": 60,
            "channels": CHANNELS,
            "class_names": c.data.class_names,
            "generator_parameters": c.generator_parameters,
            "generator_sha256": c.generator_file.as_ref().map(|f| f.sha256.clone()),
            "card_sha256": self.card_sha256,
            "date": self.date,
            "preprocessing": c.data.preprocessing,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_safe_and_stable() {
        let id = model_id("runs/../x y/ck");
        assert!(valid_id(&id), "{id}");
        assert_eq!(id, model_id("runs/../x y/ck"));
        assert_ne!(id, model_id("runs/x y/ck"));
        assert!(id.starts_with("x_y-ck-"), "{id}");
        for bad in ["", ".", "..", "../etc", "a/b", "a%2fb", &"x".repeat(65)] {
            assert!(!valid_id(bad), "{bad}");
        }
        assert!(valid_id(&model_id(".")));
    }

    #[test]
    fn timestamps_are_utc_rfc3339() {
        let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_796_690_523);
        assert_eq!(rfc3339(t), "2026-12-08T00:42:03Z");
        assert_eq!(rfc3339(std::time::UNIX_EPOCH), "1970-01-01T00:00:00Z");
        let leap = std::time::UNIX_EPOCH + std::time::Duration::from_secs(951_782_400);
        assert_eq!(rfc3339(leap), "2000-02-29T00:00:00Z");
    }
}
