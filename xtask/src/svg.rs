//! target/bench/launch.svg: each command's launch-to-exit median as a bar, its min–max as a
//! whisker, knocker highlighted; a log scale, so runc's tens of milliseconds and the floor's
//! fraction of one fit on one picture. Written directly: a plotting crate would outweigh it.

use crate::bench::Sample;
use std::fmt::Write as _;

pub fn launch_chart(samples: &[Sample]) -> String {
    let (left, right, top, row) = (260.0, 40.0, 50.0, 34.0);
    let width = 900.0;
    let plot = width - left - right;
    let height = top + row * samples.len() as f64 + 50.0;
    let lo = 0.2f64.log10();
    let hi = samples.iter().map(Sample::max).fold(1.0f64, f64::max).max(60.0).log10();
    let x = |ms: f64| left + (ms.max(0.2).log10() - lo) / (hi - lo) * plot;
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="13">
<rect width="100%" height="100%" fill="white"/>
<text x="{left}" y="24" font-size="16" font-weight="bold">Launch to exit of /bin/true (median, whisker: min–max; log scale)</text>
"#
    );
    for tick in [0.2f64, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0] {
        if tick.log10() > hi {
            break;
        }
        let tx = x(tick);
        let _ = writeln!(s, r##"<line x1="{tx:.1}" y1="{top}" x2="{tx:.1}" y2="{:.1}" stroke="#ddd"/>"##, height - 40.0);
        let _ = writeln!(s, r##"<text x="{tx:.1}" y="{:.1}" text-anchor="middle" fill="#555">{tick} ms</text>"##, height - 22.0);
    }
    for (i, smp) in samples.iter().enumerate() {
        let y = top + row * i as f64;
        let (fill, weight) = if smp.knocker { ("#d9480f", "bold") } else { ("#7a8fa6", "normal") };
        let (m, mn, mx) = (smp.median(), smp.min(), smp.max());
        let _ = writeln!(s, r#"<text x="{:.1}" y="{:.1}" text-anchor="end" font-weight="{weight}">{}</text>"#, left - 8.0, y + 20.0, escape(&smp.name));
        let _ = writeln!(s, r#"<rect x="{left}" y="{:.1}" width="{:.1}" height="18" fill="{fill}"/>"#, y + 7.0, (x(m) - left).max(1.0));
        let _ = writeln!(s, r#"<line x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="black"/>"#, x(mn), y + 16.0, x(mx), y + 16.0);
        for end in [mn, mx] {
            let _ = writeln!(s, r#"<line x1="{0:.1}" y1="{1:.1}" x2="{0:.1}" y2="{2:.1}" stroke="black"/>"#, x(end), y + 11.0, y + 21.0);
        }
        let _ = writeln!(s, r#"<text x="{:.1}" y="{:.1}" font-weight="{weight}">{m:.2} ms</text>"#, x(mx) + 6.0, y + 20.0);
    }
    s.push_str("</svg>\n");
    s
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}
