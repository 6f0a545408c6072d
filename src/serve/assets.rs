//! The page's static files, compiled into the binary from `assets/serve/` (nothing is read
//! from disk at run time, so no request can reach a file): HTML pages, scripts, styles and
//! the vendored uPlot 1.6.32 (MIT, its licence served beside it).
//!
//! May depend on: nothing.

/// `(name, content type, bytes)` of every asset served under `/assets/`.
pub const ASSETS: &[(&str, &str, &[u8])] = &[
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/serve/app.js"),
    ),
    (
        "models.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/serve/models.js"),
    ),
    (
        "common.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/serve/common.js"),
    ),
    (
        "app.css",
        "text/css; charset=utf-8",
        include_bytes!("../../assets/serve/app.css"),
    ),
    (
        "uPlot.iife.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/serve/vendor/uPlot.iife.min.js"),
    ),
    (
        "uPlot.min.css",
        "text/css; charset=utf-8",
        include_bytes!("../../assets/serve/vendor/uPlot.min.css"),
    ),
    (
        "uPlot-LICENSE.txt",
        "text/plain; charset=utf-8",
        include_bytes!("../../assets/serve/vendor/uPlot-LICENSE.txt"),
    ),
];

/// The pages: `(route, bytes)`.
pub const PAGES: &[(&str, &[u8])] = &[
    ("/", include_bytes!("../../assets/serve/index.html")),
    ("/models", include_bytes!("../../assets/serve/models.html")),
    ("/about", include_bytes!("../../assets/serve/about.html")),
];

/// The asset called `name`, if there is one.
pub fn asset(name: &str) -> Option<(&'static str, &'static [u8])> {
    ASSETS
        .iter()
        .find(|(n, _, _)| *n == name)
        .map(|(_, t, b)| (*t, *b))
}
