//! `ccf history --svg FILE`: the timeline drawn, one row per account (active above,
//! exhausted below), the parked spans shaded across every row, each swap a vertical line.
//! Drawn with plotters' SVG backend, which maps times to pixels, lays out the axis and
//! the legend; nothing here computes a coordinate but the account labels' place.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::timeline::{MarkKind, Span, Timeline};

const ACTIVE: RGBColor = RGBColor(46, 125, 50);
const EXHAUSTED: RGBColor = RGBColor(198, 40, 40);
const PARKED: RGBColor = RGBColor(189, 189, 189);
const SWAP: RGBColor = RGBColor(21, 101, 192);
const RETURN: RGBColor = RGBColor(106, 27, 154);
const PARTIAL: RGBColor = RGBColor(239, 108, 0);
const FAILED: RGBColor = RGBColor(0, 0, 0);

const WIDTH: u32 = 1200;
const ROW_PX: u32 = 56;
const LEGEND_PX: u32 = 34;

/// The picture as SVG text; `title` heads it, `zone` writes the axis' times.
pub fn draw(tl: &Timeline, title: &str, zone: &jiff::tz::TimeZone) -> anyhow::Result<String> {
    let mut out = String::new();
    let rows = u32::try_from(tl.rows.len()).unwrap_or(u32::MAX).max(1);
    let height = 110 + LEGEND_PX + ROW_PX * rows;
    {
        let root = SVGBackend::with_string(&mut out, (WIDTH, height)).into_drawing_area();
        root.fill(&WHITE).map_err(plot_error)?;
        let (upper, lower) = root.split_vertically(height - LEGEND_PX);
        let n = f64::from(rows);
        let (start, end) = (
            tl.start.as_second(),
            tl.end.as_second().max(tl.start.as_second() + 1),
        );
        let ticks = ticks(start, end, zone);
        let mut chart = ChartBuilder::on(&upper)
            .caption(title, ("sans-serif", 18))
            .margin(12)
            .margin_right(32)
            .x_label_area_size(36)
            .y_label_area_size(110)
            .build_cartesian_2d((start..end).with_key_points(ticks.points), 0f64..n)
            .map_err(plot_error)?;
        let label = |s: &i64| {
            jiff::Timestamp::from_second(*s)
                .map(|t| t.to_zoned(zone.clone()).strftime(ticks.format).to_string())
                .unwrap_or_default()
        };
        chart
            .configure_mesh()
            .x_label_formatter(&label)
            .x_label_style(("sans-serif", 14))
            .y_labels(0)
            .disable_y_mesh()
            .light_line_style(WHITE.mix(0.0))
            .draw()
            .map_err(plot_error)?;
        let band = |s: &Span, lo: f64, hi: f64, color: RGBColor| {
            Rectangle::new(
                [(s.from.as_second(), lo), (s.to.as_second(), hi)],
                color.filled(),
            )
        };
        chart
            .draw_series(tl.parked.iter().map(|s| band(s, 0.0, n, PARKED)))
            .map_err(plot_error)?;
        let rows_top = |i: usize| n - f64::from(u32::try_from(i).unwrap_or(0));
        chart
            .draw_series(tl.rows.iter().enumerate().flat_map(|(i, r)| {
                let top = rows_top(i);
                r.active
                    .iter()
                    .map(move |s| band(s, top - 0.5, top - 0.15, ACTIVE))
            }))
            .map_err(plot_error)?;
        chart
            .draw_series(tl.rows.iter().enumerate().flat_map(|(i, r)| {
                let top = rows_top(i);
                r.exhausted
                    .iter()
                    .map(move |s| band(s, top - 0.85, top - 0.5, EXHAUSTED))
            }))
            .map_err(plot_error)?;
        for (kind, color) in MARKS {
            chart
                .draw_series(tl.marks.iter().filter(|m| m.kind == kind).map(|m| {
                    let x = m.at.as_second();
                    PathElement::new(vec![(x, 0.0), (x, n)], color.stroke_width(2))
                }))
                .map_err(plot_error)?;
        }
        let style = TextStyle::from(("sans-serif", 15).into_font())
            .pos(Pos::new(HPos::Right, VPos::Center));
        for (i, r) in tl.rows.iter().enumerate() {
            let (x, y) = chart.backend_coord(&(start, rows_top(i) - 0.5));
            upper
                .draw(&Text::new(r.account.clone(), (x - 8, y), style.clone()))
                .map_err(plot_error)?;
        }
        legend(&lower, tl)?;
        root.present().map_err(plot_error)?;
    }
    Ok(out)
}

/// The swap ends' colours.
const MARKS: [(MarkKind, RGBColor); 4] = [
    (MarkKind::Swap, SWAP),
    (MarkKind::Return, RETURN),
    (MarkKind::Partial, PARTIAL),
    (MarkKind::Failed, FAILED),
];

/// One line under the chart: a swatch and a word for each thing drawn (marks only for
/// the kinds the window has).
fn legend(
    area: &DrawingArea<SVGBackend<'_>, plotters::coord::Shift>,
    tl: &Timeline,
) -> anyhow::Result<()> {
    let mut entries: Vec<(RGBColor, bool, &str)> = vec![
        (ACTIVE, true, "active"),
        (EXHAUSTED, true, "exhausted"),
        (PARKED, true, "parked (every account out)"),
    ];
    for (kind, color) in MARKS {
        if tl.marks.iter().any(|m| m.kind == kind) {
            let word = match kind {
                MarkKind::Swap => "swap",
                MarkKind::Return => "return to the primary",
                MarkKind::Partial => "swap, some sessions not moved",
                MarkKind::Failed => "swap failed",
            };
            entries.push((color, false, word));
        }
    }
    let style =
        TextStyle::from(("sans-serif", 14).into_font()).pos(Pos::new(HPos::Left, VPos::Center));
    let mut x = 122;
    let y = 14;
    for (color, swatch, word) in entries {
        if swatch {
            area.draw(&Rectangle::new(
                [(x, y - 6), (x + 16, y + 6)],
                color.filled(),
            ))
        } else {
            area.draw(&PathElement::new(
                vec![(x + 7, y - 8), (x + 7, y + 8)],
                color.stroke_width(2),
            ))
        }
        .map_err(plot_error)?;
        area.draw(&Text::new(word, (x + 22, y), style.clone()))
            .map_err(plot_error)?;
        // The text's width as the backend measures it, then a gap.
        let (w, _) = area.estimate_text_size(word, &style).map_err(plot_error)?;
        x += 22 + i32::try_from(w).unwrap_or(200) + 28;
    }
    Ok(())
}

/// The axis' key points: whole hours or days in `zone`, a handful across the window.
struct Ticks {
    points: Vec<i64>,
    format: &'static str,
}

fn ticks(start: i64, end: i64, zone: &jiff::tz::TimeZone) -> Ticks {
    let hours = (end - start) / 3600;
    let (step_hours, format) = match hours {
        0..=6 => (1, "%H:%M"),
        7..=24 => (3, "%H:%M"),
        25..=72 => (12, "%a %H:%M"),
        73..=336 => (24, "%a %d"),
        _ => (24 * 7, "%b %d"),
    };
    let Ok(first) = jiff::Timestamp::from_second(start) else {
        return Ticks {
            points: vec![],
            format,
        };
    };
    let mut t = first
        .to_zoned(zone.clone())
        .start_of_day()
        .unwrap_or_else(|_| first.to_zoned(zone.clone()));
    let mut points = Vec::new();
    while t.timestamp().as_second() <= end && points.len() < 64 {
        let s = t.timestamp().as_second();
        if s >= start {
            points.push(s);
        }
        t = match t.checked_add(jiff::Span::new().hours(step_hours)) {
            Ok(next) => next,
            Err(_) => break,
        };
    }
    Ticks { points, format }
}

fn plot_error<E: std::fmt::Debug>(e: E) -> anyhow::Error {
    anyhow::anyhow!("failed to draw the timeline: {e:?}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::timeline::{Mark, Row};

    #[test]
    fn the_picture_has_a_row_label_per_account_and_a_line_per_swap() {
        let t = |s: &str| -> jiff::Timestamp { format!("2026-12-02T{s}:00Z").parse().unwrap() };
        let span = |a: &str, b: &str| Span {
            from: t(a),
            to: t(b),
        };
        let row = |name: &str, active: Vec<Span>, exhausted: Vec<Span>| Row {
            account: name.into(),
            active,
            exhausted,
            active_secs: 0,
            exhausted_secs: 0,
            limits: 0,
            swaps_away: 0,
            swaps_onto: 0,
        };
        let tl = Timeline {
            start: t("09:00"),
            end: t("13:00"),
            rows: vec![
                row(
                    "compte1",
                    vec![span("09:00", "10:00")],
                    vec![span("10:00", "12:00")],
                ),
                row("compte2", vec![span("10:00", "13:00")], vec![]),
            ],
            parked: vec![],
            parked_secs: 0,
            marks: vec![Mark {
                at: t("10:00"),
                kind: MarkKind::Swap,
                from: Some("compte1".into()),
                to: "compte2".into(),
            }],
        };
        let svg = draw(&tl, "ccf history", &jiff::tz::TimeZone::UTC).unwrap();
        assert!(svg.starts_with("<svg width=\"1200\""), "{svg}");
        assert!(svg.contains(">\ncompte1\n</text>") && svg.contains(">\ncompte2\n</text>"));
        assert!(svg.contains(">\nswap\n</text>") && !svg.contains(">\nswap failed\n</text>"));
        // Whole hours on the axis.
        for h in ["10:00", "11:00", "12:00"] {
            assert!(svg.contains(&format!(">\n{h}\n</text>")), "no {h} tick");
        }
        // Two active bands and one exhausted band, in their colours.
        assert_eq!(svg.matches("fill=\"#2E7D32\"").count(), 2 + 1, "{svg}");
        assert_eq!(svg.matches("fill=\"#C62828\"").count(), 1 + 1);
        assert_eq!(svg.matches("stroke=\"#1565C0\"").count(), 1 + 1);
    }
}
