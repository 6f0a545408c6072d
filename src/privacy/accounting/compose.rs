//! Heterogeneous composition: ε at a given δ of several Poisson-subsampled Gaussian mechanisms
//! (sensitivity 1), each with its own sample rate q, number of steps and noise multiplier σ —
//! for example a generator's DP-SGD run, a DP classifier's run and a single Gaussian release
//! on the same data — through each accountant's own composition, never by adding ε's (that is
//! only the loose basic composition theorem, and it would also add the δ's):
//!
//! - **RDP** (`rdp`, `rdp-reference`): the parts' total RDP curves (the accountant's own
//!   [`RdpAccountant::rdp`]) are summed order by order and converted once by the accountant's
//!   own conversion ([`RdpAccountant::epsilon_from_rdp_vector`], the code path of its ε).
//! - **PLD**: each part's PMFs are self-composed as for one schedule
//!   ([`PldAccountant::composed_pmfs`]) and then convolved on the common grid
//!   ([`Pmf::compose`]), per adjacency direction (REMOVE with REMOVE, ADD with ADD; a q = 1
//!   part, whose two directions coincide and which the accountant represents by its REMOVE
//!   PMF alone, enters both), with dp_accounting's pessimistic tail truncation; ε is the
//!   larger of the directions' ε, as for one schedule.
//! - **PRV**: the parts are discretised on one common grid and composed by one FFT, with the
//!   certified error bounds extended to the heterogeneous sum
//!   ([`PrvAccountant::composed_epsilon_bounds`], item 6 of the `prv` module docs); the
//!   reported ε is the upper bound, as for one schedule.
//!
//! The parts are first put in canonical form ([`canonical_parts`]): parts with the same
//! (q, σ) are merged (their steps add: it is the same mechanism repeated) and the rest are
//! ordered by (q, σ), so the result does not depend on the order of the list, and a list
//! whose parts all share (q, σ) gives exactly the single-schedule ε.
//!
//! May depend on: `rdp`, `pld`, `prv`, `ledger` (`AccountantKind`), `error`, `mod`, serde.
//! f64 maths only: never tch, rand or any IO.

use super::error::{invalid, is_pos_finite, AccountingError, Result};
use super::ledger::AccountantKind;
use super::pld::{PldAccountant, Pmf};
use super::prv::{PrvAccountant, PrvEpsilon};
use super::rdp::RdpAccountant;
use super::{Accountant, Schedule};
use serde::{Deserialize, Serialize};

/// One mechanism in a composition: `steps` Poisson-subsampled Gaussian steps at rate
/// `sample_rate` with noise multiplier `sigma` (q = 1, steps = 1 is a single Gaussian
/// release).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Mechanism {
    /// Poisson sampling rate q ∈ (0, 1].
    pub sample_rate: f64,
    /// Number of steps (≥ 1).
    pub steps: u64,
    /// Noise multiplier σ (finite, > 0; the noise standard deviation over the sensitivity).
    pub sigma: f64,
}

impl Mechanism {
    /// The mechanism of a DP-SGD schedule run with noise multiplier `sigma` (its δ is not
    /// part of the mechanism).
    pub fn from_schedule(sched: &Schedule, sigma: f64) -> Self {
        Mechanism {
            sample_rate: sched.sample_rate,
            steps: sched.steps,
            sigma,
        }
    }

    /// One release of the Gaussian mechanism (q = 1, one step) with noise multiplier `sigma`.
    pub fn gaussian(sigma: f64) -> Self {
        Mechanism {
            sample_rate: 1.0,
            steps: 1,
            sigma,
        }
    }

    /// Checks q ∈ (0, 1], steps ≥ 1 and σ finite and > 0; an error names the part as
    /// `parts[index]`.
    pub fn validate(&self, index: usize) -> Result<()> {
        let bad = |name, value, reason: &str| AccountingError::InvalidPart {
            index,
            name,
            value,
            reason: reason.into(),
        };
        let q = self.sample_rate;
        if !(q > 0.0 && q <= 1.0) {
            return Err(bad(
                "sample_rate",
                q,
                "Poisson sampling rate must lie in (0, 1]",
            ));
        }
        if self.steps == 0 {
            return Err(bad("steps", 0.0, "need at least one step"));
        }
        if !is_pos_finite(self.sigma) {
            return Err(bad(
                "sigma",
                self.sigma,
                "noise multiplier must be finite and > 0",
            ));
        }
        Ok(())
    }

    /// The schedule of this mechanism at `delta`.
    fn schedule(&self, delta: f64) -> Schedule {
        Schedule {
            sample_rate: self.sample_rate,
            steps: self.steps,
            delta,
        }
    }
}

/// δ must lie in (0, 1).
pub(crate) fn validate_delta(delta: f64) -> Result<()> {
    if !(delta > 0.0 && delta < 1.0) {
        return Err(invalid("delta", delta, "must lie in (0, 1)"));
    }
    Ok(())
}

/// The parts validated (errors name the index in `parts`), parts with the same (q, σ) merged
/// into one whose steps are the sum, ordered by q and then σ. Refuses an empty list (nothing
/// to compose: there is no mechanism whose ε could be 0) and step totals past 2^64 − 1.
pub fn canonical_parts(parts: &[Mechanism]) -> Result<Vec<Mechanism>> {
    if parts.is_empty() {
        return Err(invalid(
            "parts",
            0.0,
            "nothing to compose: need at least one mechanism",
        ));
    }
    for (i, p) in parts.iter().enumerate() {
        p.validate(i)?;
    }
    let mut sorted = parts.to_vec();
    sorted.sort_by(|a, b| {
        a.sample_rate
            .total_cmp(&b.sample_rate)
            .then(a.sigma.total_cmp(&b.sigma))
    });
    let mut out: Vec<Mechanism> = Vec::with_capacity(sorted.len());
    for p in sorted {
        match out.last_mut() {
            Some(last) if last.sample_rate == p.sample_rate && last.sigma == p.sigma => {
                last.steps = last.steps.checked_add(p.steps).ok_or_else(|| {
                    invalid(
                        "steps",
                        last.steps as f64 + p.steps as f64,
                        format!(
                            "the parts with sample_rate {} and sigma {} add up to more than 2^64 - 1 steps",
                            p.sample_rate, p.sigma
                        ),
                    )
                })?;
            }
            _ => out.push(p),
        }
    }
    Ok(out)
}

/// The error for an infinite ε of the (canonical) `parts`: the accountant's own
/// [`AccountingError::NoFiniteEpsilon`] for one part, so a one-part composition fails exactly
/// as the accountant does, else [`AccountingError::NoFiniteComposedEpsilon`].
pub(crate) fn no_finite_epsilon(
    accountant: &'static str,
    parts: &[Mechanism],
    delta: f64,
    reason: &str,
) -> AccountingError {
    match parts {
        [p] => AccountingError::NoFiniteEpsilon {
            accountant,
            sigma: p.sigma,
            sample_rate: p.sample_rate,
            steps: p.steps,
            delta,
            reason: reason.into(),
        },
        _ => AccountingError::NoFiniteComposedEpsilon {
            accountant,
            parts: parts.len(),
            delta,
            reason: reason.into(),
        },
    }
}

/// ε of all `parts` composed, at δ, by `kind`'s accountant with its default settings, as
/// [`AccountantKind`] maps to them elsewhere: [`RdpAccountant::default`],
/// [`RdpAccountant::reference`] for [`AccountantKind::RdpReference`],
/// [`PldAccountant::default`], [`PrvAccountant::default`] (its certified upper bound). See
/// the module docs for how each accountant composes; a one-part list gives the accountant's
/// own [`Accountant::epsilon`].
///
/// Errors: an empty list, an invalid part (naming its index), δ ∉ (0, 1), or an accountant's
/// own refusal (no finite ε, work limit, …).
pub fn composed_epsilon(kind: AccountantKind, parts: &[Mechanism], delta: f64) -> Result<f64> {
    match kind {
        AccountantKind::Rdp => rdp_composed_epsilon(&RdpAccountant::default(), parts, delta),
        AccountantKind::RdpReference => {
            rdp_composed_epsilon(&RdpAccountant::reference(), parts, delta)
        }
        AccountantKind::Pld => pld_composed_epsilon(&PldAccountant::default(), parts, delta),
        AccountantKind::Prv => prv_composed_epsilon(&PrvAccountant::default(), parts, delta),
    }
}

/// The total RDP curve of the composition at `acc`'s orders: the sum of the parts' curves.
pub fn rdp_composed_curve(
    acc: &RdpAccountant,
    parts: &[Mechanism],
    delta: f64,
) -> Result<Vec<f64>> {
    let parts = canonical_parts(parts)?;
    validate_delta(delta)?;
    rdp_curve(acc, &parts, delta)
}

fn rdp_curve(acc: &RdpAccountant, parts: &[Mechanism], delta: f64) -> Result<Vec<f64>> {
    let mut total: Vec<f64> = Vec::new();
    for (i, p) in parts.iter().enumerate() {
        let rdp = acc.rdp(&p.schedule(delta), p.sigma)?;
        if i == 0 {
            total = rdp;
        } else {
            for (t, r) in total.iter_mut().zip(&rdp) {
                *t += r;
            }
        }
    }
    Ok(total)
}

/// ε of the composition under an RDP accountant: the summed curve converted once by `acc`'s
/// own conversion.
pub fn rdp_composed_epsilon(acc: &RdpAccountant, parts: &[Mechanism], delta: f64) -> Result<f64> {
    let parts = canonical_parts(parts)?;
    validate_delta(delta)?;
    let total = rdp_curve(acc, &parts, delta)?;
    let (eps, _) = acc.epsilon_from_rdp_vector(&total, delta)?;
    if eps.is_finite() {
        Ok(eps)
    } else {
        Err(no_finite_epsilon(
            acc.name(),
            &parts,
            delta,
            "every RDP order gives an infinite epsilon",
        ))
    }
}

/// The composed PMFs of the composition under a PLD accountant: `[remove]` when every part
/// has q = 1, `[remove, add]` otherwise (as [`PldAccountant::composed_pmfs`]).
pub fn pld_composed_pmfs(acc: &PldAccountant, parts: &[Mechanism], delta: f64) -> Result<Vec<Pmf>> {
    let parts = canonical_parts(parts)?;
    validate_delta(delta)?;
    pld_pmfs(acc, &parts, delta)
}

fn pld_pmfs(acc: &PldAccountant, parts: &[Mechanism], delta: f64) -> Result<Vec<Pmf>> {
    let tail = acc.tail_mass_truncation();
    let mut remove: Option<Pmf> = None;
    // None while every part so far has q = 1: the ADD composition is then the REMOVE one.
    let mut add: Option<Pmf> = None;
    for p in parts {
        let mut pmfs = acc.composed_pmfs(&p.schedule(delta), p.sigma)?.into_iter();
        let part_remove = pmfs.next().ok_or_else(|| AccountingError::Numerical {
            what: "PLD composition",
            reason: "the accountant returned no PMF".into(),
        })?;
        let part_add = pmfs.next();
        remove = Some(match remove {
            None => {
                add = part_add;
                part_remove
            }
            Some(acc_remove) => {
                if add.is_some() || part_add.is_some() {
                    let acc_add = match add.take() {
                        Some(a) => a,
                        None => acc_remove.clone(),
                    };
                    let other = part_add.as_ref().unwrap_or(&part_remove);
                    add = Some(acc_add.compose(other, tail)?);
                }
                acc_remove.compose(&part_remove, tail)?
            }
        });
    }
    let remove = remove.ok_or_else(|| invalid("parts", 0.0, "nothing to compose"))?;
    Ok(std::iter::once(remove).chain(add).collect())
}

/// ε of the composition under a PLD accountant: the larger of the directions' ε.
pub fn pld_composed_epsilon(acc: &PldAccountant, parts: &[Mechanism], delta: f64) -> Result<f64> {
    let parts = canonical_parts(parts)?;
    validate_delta(delta)?;
    let eps = pld_pmfs(acc, &parts, delta)?
        .iter()
        .map(|p| p.epsilon_for_delta(delta))
        .fold(0.0, f64::max);
    if eps.is_finite() {
        Ok(eps)
    } else {
        Err(no_finite_epsilon(
            acc.name(),
            &parts,
            delta,
            "the PLD mass at +infinity (truncated tails) exceeds delta",
        ))
    }
}

/// ε of the composition under a PRV accountant: the certified upper bound of
/// [`PrvAccountant::composed_epsilon_bounds`] (clipped at 0, as [`Accountant::epsilon`]).
pub fn prv_composed_epsilon(acc: &PrvAccountant, parts: &[Mechanism], delta: f64) -> Result<f64> {
    let b: PrvEpsilon = acc.composed_epsilon_bounds(parts, delta)?;
    Ok(b.upper.max(0.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::privacy::accounting::log_math::norm_cdf;

    const KINDS: [AccountantKind; 4] = [
        AccountantKind::Rdp,
        AccountantKind::RdpReference,
        AccountantKind::Pld,
        AccountantKind::Prv,
    ];
    const DELTA: f64 = 1e-5;

    fn m(sample_rate: f64, steps: u64, sigma: f64) -> Mechanism {
        Mechanism {
            sample_rate,
            steps,
            sigma,
        }
    }

    /// The generator run and the classifier run of the brief, and a single release.
    fn gan() -> Mechanism {
        m(0.117, 2555, 3.24)
    }
    fn clf() -> Mechanism {
        m(0.094, 106, 1.1)
    }
    fn release() -> Mechanism {
        Mechanism::gaussian(4.05)
    }

    fn own_epsilon(kind: AccountantKind, p: Mechanism) -> f64 {
        let sched = p.schedule(DELTA);
        match kind {
            AccountantKind::Rdp => RdpAccountant::default().epsilon(&sched, p.sigma),
            AccountantKind::RdpReference => RdpAccountant::reference().epsilon(&sched, p.sigma),
            AccountantKind::Pld => PldAccountant::default().epsilon(&sched, p.sigma),
            AccountantKind::Prv => PrvAccountant::default().epsilon(&sched, p.sigma),
        }
        .unwrap()
    }

    fn rel(a: f64, b: f64) -> f64 {
        ((a - b) / b).abs()
    }

    #[test]
    fn single_part_equals_the_accountants_own_epsilon() {
        for p in [gan(), clf(), release()] {
            for kind in KINDS {
                let got = composed_epsilon(kind, &[p], DELTA).unwrap();
                let want = own_epsilon(kind, p);
                match kind {
                    AccountantKind::Rdp | AccountantKind::RdpReference => {
                        assert_eq!(got, want, "{kind:?} {p:?}")
                    }
                    _ => assert!(rel(got, want) <= 1e-9, "{kind:?} {p:?}: {got} vs {want}"),
                }
            }
            let sched = p.schedule(DELTA);
            assert_eq!(
                PrvAccountant::default()
                    .composed_epsilon_bounds(&[p], DELTA)
                    .unwrap(),
                PrvAccountant::default()
                    .epsilon_bounds(&sched, p.sigma)
                    .unwrap()
            );
            assert_eq!(
                pld_composed_pmfs(&PldAccountant::default(), &[p], DELTA).unwrap(),
                PldAccountant::default()
                    .composed_pmfs(&sched, p.sigma)
                    .unwrap()
            );
        }
    }

    #[test]
    fn split_schedule_equals_the_whole() {
        let (q, sigma, a, b) = (0.117, 3.24, 1000u64, 1555u64);
        let parts = [m(q, a, sigma), m(q, b, sigma)];
        let whole = m(q, a + b, sigma);
        // Through the API the two parts are merged (same mechanism): exactly the whole.
        for kind in KINDS {
            assert_eq!(
                composed_epsilon(kind, &parts, DELTA).unwrap(),
                composed_epsilon(kind, &[whole], DELTA).unwrap(),
                "{kind:?}"
            );
        }
        // Unmerged RDP sum: a·ρ + b·ρ = (a + b)·ρ up to rounding.
        let rdp = RdpAccountant::default();
        let ra = rdp.rdp(&parts[0].schedule(DELTA), sigma).unwrap();
        let rb = rdp.rdp(&parts[1].schedule(DELTA), sigma).unwrap();
        let sum: Vec<f64> = ra.iter().zip(&rb).map(|(x, y)| x + y).collect();
        let (e_sum, _) = rdp.epsilon_from_rdp_vector(&sum, DELTA).unwrap();
        assert!(rel(e_sum, own_epsilon(AccountantKind::Rdp, whole)) < 1e-12);
        // Unmerged PLD: convolving the a- and b-step PMFs (Pmf::compose) against one (a + b)-step
        // self-composition. Both come from the same discretised one-step PMF, so there is no
        // discretisation difference, only the tail truncations (≤ 1e-15 of mass each) and the
        // round-off of FFTs over ~3e5 points: tolerance 1e-8 relative on ε (measured: 6e-10
        // for REMOVE, 5e-10 for ADD).
        let pld = PldAccountant::default();
        let pa = pld.composed_pmfs(&parts[0].schedule(DELTA), sigma).unwrap();
        let pb = pld.composed_pmfs(&parts[1].schedule(DELTA), sigma).unwrap();
        let pw = pld.composed_pmfs(&whole.schedule(DELTA), sigma).unwrap();
        for ((x, y), w) in pa.iter().zip(&pb).zip(&pw) {
            let c = x.compose(y, pld.tail_mass_truncation()).unwrap();
            // Pmf::compose conserves mass (the inputs' own masses, which already differ from 1
            // by the connect-the-dots round-off, multiply; the +∞ atom only gains).
            let mass = |p: &Pmf| p.probs.iter().sum::<f64>() + p.infinity_mass;
            assert!(
                rel(mass(&c), mass(x) * mass(y)) < 1e-12,
                "mass {} vs {}",
                mass(&c),
                mass(x) * mass(y)
            );
            assert!(c.infinity_mass >= x.infinity_mass + y.infinity_mass - 1e-30);
            let (ec, ew) = (c.epsilon_for_delta(DELTA), w.epsilon_for_delta(DELTA));
            assert!(rel(ec, ew) < 1e-8, "convolved {ec} vs self-composed {ew}");
        }
        // Unmerged PRV: a σ one ulp-ish apart keeps the parts separate, through the
        // heterogeneous path; its certified interval must overlap the whole's and the
        // estimates agree within the error bars.
        let prv = PrvAccountant::default();
        let apart = [m(q, a, sigma), m(q, b, sigma * (1.0 + 1e-12))];
        let hb = prv.composed_epsilon_bounds(&apart, DELTA).unwrap();
        let wb = prv.epsilon_bounds(&whole.schedule(DELTA), sigma).unwrap();
        assert!(
            hb.lower <= wb.upper && wb.lower <= hb.upper,
            "{hb:?} vs {wb:?}"
        );
        assert!(
            (hb.estimate - wb.estimate).abs() <= hb.eps_error.max(wb.eps_error),
            "{hb:?} vs {wb:?}"
        );
    }

    #[test]
    fn composition_lies_between_the_largest_part_and_the_sum() {
        for parts in [[gan(), clf()], [release(), gan()], [release(), clf()]] {
            for kind in KINDS {
                let eps: Vec<f64> = parts.iter().map(|&p| own_epsilon(kind, p)).collect();
                let max = eps.iter().copied().fold(0.0, f64::max);
                let sum: f64 = eps.iter().sum();
                let got = composed_epsilon(kind, &parts, DELTA).unwrap();
                assert!(
                    got > max && got < sum,
                    "{kind:?} {parts:?}: {got} not in ({max}, {sum})"
                );
            }
            // PRV and PLD agree: the PLD's pessimistic ε lies above the PRV's certified lower
            // bound, and near the PRV's estimate (within its error bar).
            let b = PrvAccountant::default()
                .composed_epsilon_bounds(&parts, DELTA)
                .unwrap();
            let pld = composed_epsilon(AccountantKind::Pld, &parts, DELTA).unwrap();
            let rdp = composed_epsilon(AccountantKind::Rdp, &parts, DELTA).unwrap();
            assert!(b.lower <= pld && pld <= rdp, "{b:?} pld {pld} rdp {rdp}");
            assert!((pld - b.estimate).abs() <= b.eps_error, "{b:?} pld {pld}");
        }
    }

    #[test]
    fn two_gaussian_releases_compose_to_one_with_the_combined_noise() {
        // q = 1: N(·, σ₁²) then N(·, σ₂²) is one Gaussian mechanism with
        // 1/σ² = 1/σ₁² + 1/σ₂², whose δ(ε) is closed-form (Balle & Wang 2018).
        let (s1, s2) = (4.05f64, 2.0f64);
        let mu = (1.0 / (s1 * s1) + 1.0 / (s2 * s2)).sqrt();
        let delta_of =
            |e: f64| norm_cdf(-e / mu + mu / 2.0) - e.exp() * norm_cdf(-e / mu - mu / 2.0);
        let (mut lo, mut hi) = (0.0, 50.0);
        for _ in 0..200 {
            let mid = 0.5 * (lo + hi);
            if delta_of(mid) > DELTA {
                lo = mid
            } else {
                hi = mid
            }
        }
        let exact = hi;
        let parts = [Mechanism::gaussian(s1), Mechanism::gaussian(s2)];
        let pmfs = pld_composed_pmfs(&PldAccountant::default(), &parts, DELTA).unwrap();
        assert_eq!(pmfs.len(), 1, "q = 1 only: one direction");
        let pld = composed_epsilon(AccountantKind::Pld, &parts, DELTA).unwrap();
        assert!(
            pld >= exact * (1.0 - 1e-9) && rel(pld, exact) < 1e-3,
            "pld {pld} vs exact {exact}"
        );
        let b = PrvAccountant::default()
            .composed_epsilon_bounds(&parts, DELTA)
            .unwrap();
        assert!(
            b.lower <= exact && exact <= b.upper,
            "{b:?} vs exact {exact}"
        );
        // RDP: α/(2σ²) adds up to the combined σ's curve.
        let combined = Mechanism::gaussian(1.0 / mu);
        let r = composed_epsilon(AccountantKind::Rdp, &parts, DELTA).unwrap();
        assert!(rel(r, own_epsilon(AccountantKind::Rdp, combined)) < 1e-12);
        // a q = 1 part with a sampled one: both directions
        let mixed = [Mechanism::gaussian(s1), clf()];
        let pmfs = pld_composed_pmfs(&PldAccountant::default(), &mixed, DELTA).unwrap();
        assert_eq!(pmfs.len(), 2);
    }

    #[test]
    fn order_of_parts_does_not_matter() {
        let parts = [gan(), release(), clf()];
        let perms = [
            [0, 1, 2],
            [0, 2, 1],
            [1, 0, 2],
            [1, 2, 0],
            [2, 0, 1],
            [2, 1, 0],
        ];
        for kind in KINDS {
            let want = composed_epsilon(kind, &parts, DELTA).unwrap();
            for perm in perms {
                let p: Vec<Mechanism> = perm.iter().map(|&i| parts[i]).collect();
                assert_eq!(composed_epsilon(kind, &p, DELTA).unwrap(), want, "{kind:?}");
            }
        }
    }

    #[test]
    fn invalid_parts_are_refused_with_their_index() {
        let bad = [
            (m(0.0, 10, 1.0), "sample_rate"),
            (m(1.5, 10, 1.0), "sample_rate"),
            (m(f64::NAN, 10, 1.0), "sample_rate"),
            (m(0.1, 0, 1.0), "steps"),
            (m(0.1, 10, 0.0), "sigma"),
            (m(0.1, 10, -1.0), "sigma"),
            (m(0.1, 10, f64::INFINITY), "sigma"),
            (m(0.1, 10, f64::NAN), "sigma"),
        ];
        for kind in KINDS {
            for (p, field) in bad {
                match composed_epsilon(kind, &[clf(), gan(), p], DELTA) {
                    Err(e @ AccountingError::InvalidPart { index: 2, name, .. }) => {
                        assert_eq!(name, field);
                        assert!(e.to_string().contains(&format!("parts[2].{field}")), "{e}");
                    }
                    other => panic!("{kind:?} {p:?}: {other:?}"),
                }
            }
            match composed_epsilon(kind, &[], DELTA) {
                Err(AccountingError::InvalidParameter { name: "parts", .. }) => {}
                other => panic!("{kind:?} empty: {other:?}"),
            }
            for d in [0.0, 1.0, -1e-5, f64::NAN] {
                match composed_epsilon(kind, &[clf()], d) {
                    Err(AccountingError::InvalidParameter { name: "delta", .. }) => {}
                    other => panic!("{kind:?} delta {d}: {other:?}"),
                }
            }
        }
    }

    #[test]
    fn canonical_parts_merge_and_order() {
        let parts = [
            m(0.2, 5, 1.0),
            m(0.1, 3, 2.0),
            m(0.2, 7, 1.0),
            m(0.1, 1, 1.5),
        ];
        assert_eq!(
            canonical_parts(&parts).unwrap(),
            vec![m(0.1, 1, 1.5), m(0.1, 3, 2.0), m(0.2, 12, 1.0)]
        );
        assert!(matches!(
            canonical_parts(&[m(0.1, u64::MAX, 1.0), m(0.1, 1, 1.0)]),
            Err(AccountingError::InvalidParameter { name: "steps", .. })
        ));
    }
}
