//! Root finders with scipy's exact semantics (ports of `scipy/optimize/Zeros/bisect.c` and
//! `brentq.c`), so that tf-privacy's calibrations can be reproduced bit for bit, plus the
//! defaults scipy uses (`xtol = 2e-12`, `rtol = 4·f64::EPSILON`, `maxiter = 100`).
//!
//! May depend on: `error`. f64 maths only.

use super::error::{AccountingError, Result};

/// scipy's default absolute tolerance `xtol`.
pub const SCIPY_XTOL: f64 = 2e-12;
/// scipy's default relative tolerance `rtol = 4·eps = 8.88e-16`.
pub const SCIPY_RTOL: f64 = 4.0 * f64::EPSILON;
/// scipy's default iteration cap.
pub const SCIPY_MAXITER: usize = 100;

fn sign_error(what: &'static str, a: f64, b: f64, fa: f64, fb: f64) -> AccountingError {
    AccountingError::Numerical {
        what,
        reason: format!("f({a}) = {fa} and f({b}) = {fb} do not have different signs"),
    }
}

/// `scipy.optimize.bisect(f, a, b, xtol, rtol, maxiter)`.
pub fn scipy_bisect<F: FnMut(f64) -> Result<f64>>(
    mut f: F,
    mut xa: f64,
    xb: f64,
    xtol: f64,
    rtol: f64,
    maxiter: usize,
) -> Result<f64> {
    let fa = f(xa)?;
    let fb = f(xb)?;
    if fa * fb > 0.0 {
        return Err(sign_error("bisect", xa, xb, fa, fb));
    }
    if fa == 0.0 {
        return Ok(xa);
    }
    if fb == 0.0 {
        return Ok(xb);
    }
    let mut dm = xb - xa;
    for _ in 0..maxiter {
        dm *= 0.5;
        let xm = xa + dm;
        let fm = f(xm)?;
        if fm * fa >= 0.0 {
            xa = xm;
        }
        if fm == 0.0 || dm.abs() < xtol + rtol * xm.abs() {
            return Ok(xm);
        }
    }
    Err(AccountingError::Numerical {
        what: "bisect",
        reason: format!("no convergence after {maxiter} iterations"),
    })
}

/// `scipy.optimize.brentq(f, a, b, xtol, rtol, maxiter)`.
pub fn scipy_brentq<F: FnMut(f64) -> Result<f64>>(
    mut f: F,
    xa: f64,
    xb: f64,
    xtol: f64,
    rtol: f64,
    maxiter: usize,
) -> Result<f64> {
    let (mut xpre, mut xcur) = (xa, xb);
    let (mut xblk, mut fblk, mut spre, mut scur) = (0.0f64, 0.0f64, 0.0f64, 0.0f64);
    let mut fpre = f(xpre)?;
    let mut fcur = f(xcur)?;
    if fpre == 0.0 {
        return Ok(xpre);
    }
    if fcur == 0.0 {
        return Ok(xcur);
    }
    if fpre.is_sign_negative() == fcur.is_sign_negative() {
        return Err(sign_error("brentq", xa, xb, fpre, fcur));
    }
    for _ in 0..maxiter {
        if fpre != 0.0 && fcur != 0.0 && fpre.is_sign_negative() != fcur.is_sign_negative() {
            xblk = xpre;
            fblk = fpre;
            spre = xcur - xpre;
            scur = spre;
        }
        if fblk.abs() < fcur.abs() {
            xpre = xcur;
            xcur = xblk;
            xblk = xpre;
            fpre = fcur;
            fcur = fblk;
            fblk = fpre;
        }
        let delta = (xtol + rtol * xcur.abs()) / 2.0;
        let sbis = (xblk - xcur) / 2.0;
        if fcur == 0.0 || sbis.abs() < delta {
            return Ok(xcur);
        }
        if spre.abs() > delta && fcur.abs() < fpre.abs() {
            let stry = if xpre == xblk {
                // interpolate
                -fcur * (xcur - xpre) / (fcur - fpre)
            } else {
                // extrapolate
                let dpre = (fpre - fcur) / (xpre - xcur);
                let dblk = (fblk - fcur) / (xblk - xcur);
                -fcur * (fblk * dblk - fpre * dpre) / (dblk * dpre * (fblk - fpre))
            };
            if 2.0 * stry.abs() < spre.abs().min(3.0 * sbis.abs() - delta) {
                // good short step
                spre = scur;
                scur = stry;
            } else {
                spre = sbis;
                scur = sbis;
            }
        } else {
            spre = sbis;
            scur = sbis;
        }
        xpre = xcur;
        fpre = fcur;
        if scur.abs() > delta {
            xcur += scur;
        } else {
            xcur += if sbis > 0.0 { delta } else { -delta };
        }
        fcur = f(xcur)?;
    }
    Err(AccountingError::Numerical {
        what: "brentq",
        reason: format!("no convergence after {maxiter} iterations"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bisect_and_brentq_find_sqrt2() {
        let f = |x: f64| Ok(x * x - 2.0);
        let b = scipy_bisect(f, 0.0, 2.0, SCIPY_XTOL, SCIPY_RTOL, SCIPY_MAXITER).unwrap();
        assert!((b - std::f64::consts::SQRT_2).abs() < 4e-12);
        let r = scipy_brentq(f, 0.0, 2.0, SCIPY_XTOL, SCIPY_RTOL, SCIPY_MAXITER).unwrap();
        assert!((r - std::f64::consts::SQRT_2).abs() < 4e-12);
        assert!(scipy_bisect(f, 2.0, 3.0, SCIPY_XTOL, SCIPY_RTOL, SCIPY_MAXITER).is_err());
        assert!(scipy_brentq(f, 2.0, 3.0, SCIPY_XTOL, SCIPY_RTOL, SCIPY_MAXITER).is_err());
    }

    #[test]
    fn bisect_matches_scipy_iterates() {
        // scipy.optimize.bisect(lambda x: x**3 - x - 1, 1, 2) == 1.324717957244502
        let r = scipy_bisect(
            |x| Ok(x * x * x - x - 1.0),
            1.0,
            2.0,
            SCIPY_XTOL,
            SCIPY_RTOL,
            100,
        )
        .unwrap();
        assert_eq!(r, 1.324_717_957_244_502);
        // scipy.optimize.brentq(lambda x: x**3 - x - 1, 1, 2) == 1.324717957244746
        let r = scipy_brentq(
            |x| Ok(x * x * x - x - 1.0),
            1.0,
            2.0,
            SCIPY_XTOL,
            SCIPY_RTOL,
            100,
        )
        .unwrap();
        assert!((r - 1.324_717_957_244_746).abs() < 1e-15, "{r}");
    }
}
