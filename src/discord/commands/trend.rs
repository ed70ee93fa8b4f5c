//! `/trend query: [days:]`: how many stored items matched a query per day, as a PNG bar
//! chart drawn in-process (plotters' bitmap backend, DejaVu Sans embedded so it works
//! offline) and sent as an attachment with a one-line caption.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use plotters::prelude::*;
use serenity::all::{CommandOptionType, CreateCommand, CreateCommandOption};

use super::preview::hits;
use super::{clean_query, query_option, Caller, CommandError, Options, Reply, UserError};
use crate::core::query;

/// Default and largest `days:`.
pub const DEFAULT_DAYS: i64 = 14;
pub const MAX_DAYS: i64 = 90;
/// Most recent items scanned.
pub const SCANNED_ITEMS: usize = 50_000;
/// The chart's size in pixels.
pub const WIDTH: u32 = 800;
pub const HEIGHT: u32 = 400;

/// DejaVu Sans (licence in `assets/fonts/DejaVuSans-LICENSE.txt`): no system fonts needed.
static FONT: &[u8] = include_bytes!("../../../assets/fonts/DejaVuSans.ttf");
const FONT_NAME: &str = "newshound-sans";

/// `/trend query: [days:]`, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trend {
    /// Canonical.
    pub query: String,
    pub days: i64,
}

pub fn parse(options: Options<'_>) -> Result<Trend, UserError> {
    let raw = options.required_str("query", "/trend query: Meta days: 30")?;
    let days = options.int("days").unwrap_or(DEFAULT_DAYS);
    if !(1..=MAX_DAYS).contains(&days) {
        return Err(UserError::Invalid(format!(
            "`days` must be 1 to {MAX_DAYS} (you typed {days}). Try `/trend query: Meta days: 30`."
        )));
    }
    Ok(Trend {
        query: clean_query(&raw)?,
        days,
    })
}

/// Matches per day for the `days` days ending `today`, oldest first.
pub fn daily_counts(matched_at: &[DateTime<Utc>], days: i64, today: NaiveDate) -> Vec<u32> {
    let first = today - Duration::days(days - 1);
    let mut counts = vec![0u32; days.max(0) as usize];
    for at in matched_at {
        let day = at.date_naive();
        if day >= first && day <= today {
            let index = (day - first).num_days() as usize;
            counts[index] += 1;
        }
    }
    counts
}

/// The one-line caption under the chart.
pub fn caption(query: &str, counts: &[u32], today: NaiveDate) -> String {
    let total: u32 = counts.iter().sum();
    let days = counts.len();
    let peak = counts
        .iter()
        .enumerate()
        .max_by_key(|(i, c)| (**c, *i))
        .filter(|(_, c)| **c > 0)
        .map(|(i, c)| {
            let day = today - Duration::days((days - 1 - i) as i64);
            format!(", most on {} ({c})", day.format("%b %-d"))
        })
        .unwrap_or_default();
    format!(
        "`{}`: {total} matching items in the last {days} days{peak}.",
        query.replace('`', "'")
    )
}

/// Draws the bar chart and encodes it as PNG.
pub fn render_png(query: &str, counts: &[u32], today: NaiveDate) -> Result<Vec<u8>, String> {
    static REGISTERED: std::sync::OnceLock<Result<(), String>> = std::sync::OnceLock::new();
    REGISTERED
        .get_or_init(|| {
            plotters::style::register_font(FONT_NAME, FontStyle::Normal, FONT)
                .map_err(|_| "the embedded font is invalid".to_string())
        })
        .clone()?;
    let mut pixels = vec![0u8; (WIDTH * HEIGHT * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut pixels, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let days = counts.len() as i32;
        let top = counts.iter().copied().max().unwrap_or(0).max(1) + 1;
        let title: String = query.chars().take(60).collect();
        let mut chart = ChartBuilder::on(&root)
            .caption(format!("Items matching {title}"), (FONT_NAME, 22))
            .margin(14)
            .x_label_area_size(34)
            .y_label_area_size(44)
            .build_cartesian_2d(0..days, 0..top)
            .map_err(|e| e.to_string())?;
        let first = today - Duration::days(i64::from(days) - 1);
        let label = move |i: &i32| {
            (first + Duration::days(i64::from(*i)))
                .format("%b %-d")
                .to_string()
        };
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(counts.len().min(10))
            .x_label_formatter(&label)
            .y_desc("items per day")
            .label_style((FONT_NAME, 13))
            .draw()
            .map_err(|e| e.to_string())?;
        let bar = RGBColor(88, 101, 242); // Discord blurple
        chart
            .draw_series(counts.iter().enumerate().map(|(i, c)| {
                let i = i as i32;
                Rectangle::new([(i, 0), (i + 1, *c)], bar.filled())
            }))
            .map_err(|e| e.to_string())?;
        root.present().map_err(|e| e.to_string())?;
    }
    let mut png = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut png, WIDTH, HEIGHT);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().map_err(|e| e.to_string())?;
        writer
            .write_image_data(&pixels)
            .map_err(|e| e.to_string())?;
    }
    Ok(png)
}

/// Runs `/trend` (deferred: scanning and drawing may take a moment).
pub async fn run(caller: &Caller<'_>, request: Trend) -> Result<Reply, CommandError> {
    let parsed = query::parse(&request.query).map_err(|e| UserError::Invalid(e.to_string()))?;
    let today = caller.now.date_naive();
    let since = caller.now - Duration::days(request.days);
    let items = caller
        .store()
        .recent_items(&caller.guild, since, SCANNED_ITEMS)
        .await?;
    let matched_at: Vec<DateTime<Utc>> = hits(parsed, &items)
        .iter()
        .filter_map(|h| h.item.fetched_at)
        .collect();
    let counts = daily_counts(&matched_at, request.days, today);
    let (query, png) = (request.query.clone(), counts.clone());
    let png = tokio::task::spawn_blocking(move || render_png(&query, &png, today))
        .await
        .map_err(|e| anyhow::anyhow!("chart task failed: {e}"))?
        .map_err(|e| anyhow::anyhow!("cannot draw the chart: {e}"))?;
    Ok(Reply::private(caption(&request.query, &counts, today)).with_file("trend.png", png))
}

pub fn definition() -> CreateCommand {
    CreateCommand::new("trend")
        .description("A chart of how many items matched a query per day")
        .dm_permission(false)
        .add_option(query_option("The query to chart, e.g. Meta -metaverse"))
        .add_option(
            CreateCommandOption::new(
                CommandOptionType::Integer,
                "days",
                "How many days back (1-90, default 14)",
            )
            .min_int_value(1)
            .max_int_value(MAX_DAYS as u64),
        )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::discord::commands::OptValue;

    fn day(d: &str) -> NaiveDate {
        NaiveDate::parse_from_str(d, "%Y-%m-%d").unwrap()
    }

    fn at(d: &str) -> DateTime<Utc> {
        day(d).and_hms_opt(12, 0, 0).unwrap().and_utc()
    }

    #[test]
    fn counts_fall_on_their_days_and_old_ones_are_left_out() {
        let counts = daily_counts(
            &[
                at("2026-12-03"),
                at("2026-12-03"),
                at("2026-12-01"),
                at("2026-11-01"),
            ],
            3,
            day("2026-12-03"),
        );
        assert_eq!(counts, [1, 0, 2]);
        assert_eq!(
            caption("Meta", &counts, day("2026-12-03")),
            "`Meta`: 3 matching items in the last 3 days, most on Dec 3 (2)."
        );
    }

    #[test]
    fn days_out_of_range_say_what_to_type() {
        let options = vec![
            ("query".to_string(), OptValue::Str("Meta".into())),
            ("days".to_string(), OptValue::Int(91)),
        ];
        let err = parse(Options(&options)).unwrap_err().to_string();
        assert!(
            err.contains("1 to 90") && err.contains("/trend query: Meta days: 30"),
            "{err}"
        );
    }

    #[test]
    fn chart_is_a_png_of_the_chart_size() {
        let png = render_png("Meta", &[1, 4, 2, 0, 3], day("2026-12-03")).unwrap();
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
        let decoder = png::Decoder::new(png.as_slice());
        let reader = decoder.read_info().unwrap();
        assert_eq!((reader.info().width, reader.info().height), (WIDTH, HEIGHT));
    }
}
