//! A price chart drawn as SVG from Rust: no charting library, nothing to download, the same
//! markup on the server and in the browser, and it scales to any width (phone or desktop).

use leptos::prelude::*;
use solstice_market::{Candle, Interval};

const WIDTH: f64 = 600.0;
const HEIGHT: f64 = 220.0;

/// A line chart of the candles' closing prices, with the range's high and low.
#[component]
pub fn PriceChart(
    #[prop(into)] candles: Signal<Vec<Candle>>,
    #[prop(into)] interval: Signal<Interval>,
    #[prop(into)] symbol: String,
) -> impl IntoView {
    let shape = move || candles.with(|candles| ChartShape::of(candles));
    let description = {
        let symbol = symbol.clone();
        move || {
            let candles = candles.get();
            match (candles.first(), candles.last()) {
                (Some(first), Some(last)) => format!(
                    "{symbol} price over the last {}: from {} to {}",
                    span_label(interval.get()),
                    first.open.format(),
                    last.close.format()
                ),
                _ => format!("{symbol} price chart: no data yet"),
            }
        }
    };
    view! {
        <figure class="chart">
            <div class="chart-scale">
                <span data-testid="chart-high">{move || shape().map(|s| s.high_label).unwrap_or_default()}</span>
            </div>
            <svg
                viewBox=format!("0 0 {WIDTH} {HEIGHT}")
                preserveAspectRatio="none"
                role="img"
                aria-label=description
                data-testid="price-chart"
            >
                <path class="chart-area" d=move || shape().map(|s| s.area).unwrap_or_default() />
                <path
                    class="chart-line"
                    d=move || shape().map(|s| s.line).unwrap_or_default()
                    vector-effect="non-scaling-stroke"
                />
            </svg>
            <div class="chart-scale">
                <span>{move || shape().map(|s| s.low_label).unwrap_or_default()}</span>
            </div>
            <figcaption class="chart-axis muted small">
                <span>{move || format!("{} ago", span_label(interval.get()))}</span>
                <span>"now"</span>
            </figcaption>
        </figure>
    }
}

/// What stands in a chart's place until its data comes: the same frame, so that nothing
/// below it moves when the chart replaces it (a server-rendered page streams the chart in
/// later, when its data is ready).
#[component]
pub fn ChartPlaceholder(label: &'static str) -> impl IntoView {
    view! {
        <figure class="chart" aria-busy="true">
            <div class="chart-scale"></div>
            <svg viewBox=format!("0 0 {WIDTH} {HEIGHT}") aria-hidden="true"></svg>
            <div class="chart-scale"></div>
            <figcaption class="chart-axis muted small">
                <span>{label}</span>
            </figcaption>
        </figure>
    }
}

/// How much time a chart of `interval` covers, for people.
pub fn span_label(interval: Interval) -> &'static str {
    match interval {
        Interval::OneMinute => "2 hours",
        Interval::FiveMinutes => "12 hours",
        Interval::OneHour => "7 days",
    }
}

struct ChartShape {
    line: String,
    area: String,
    high_label: String,
    low_label: String,
}

impl ChartShape {
    fn of(candles: &[Candle]) -> Option<ChartShape> {
        let high = candles.iter().map(|c| c.high).max()?;
        let low = candles.iter().map(|c| c.low).min()?;
        let (top, bottom) = (high.picodollars() as f64, low.picodollars() as f64);
        // A flat line sits in the middle rather than dividing by zero.
        let range = if top > bottom { top - bottom } else { 1.0 };
        let step = if candles.len() > 1 { WIDTH / (candles.len() - 1) as f64 } else { 0.0 };
        let point = |i: usize, candle: &Candle| {
            let y = if top > bottom {
                HEIGHT - (candle.close.picodollars() as f64 - bottom) / range * (HEIGHT - 8.0) - 4.0
            } else {
                HEIGHT / 2.0
            };
            (i as f64 * step, y)
        };
        let mut line = String::with_capacity(candles.len() * 16);
        for (i, candle) in candles.iter().enumerate() {
            let (x, y) = point(i, candle);
            line.push_str(&format!("{}{x:.1} {y:.1}", if i == 0 { "M" } else { " L" }));
        }
        let last_x = (candles.len() - 1) as f64 * step;
        let area = format!("{line} L{last_x:.1} {HEIGHT} L0 {HEIGHT} Z");
        Some(ChartShape { line, area, high_label: high.format(), low_label: low.format() })
    }
}
