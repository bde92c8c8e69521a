//! The training curve: mean training loss and devel F1 per epoch, as an SVG (one line per run).

use std::path::Path;

use anyhow::{anyhow, Result};
use plotters::coord::Shift;
use plotters::prelude::*;

use crate::train::EpochRecord;

/// Colour-blind-safe (Okabe–Ito), one per run of a soup.
const PALETTE: [(RGBColor, &str); 6] = [
    (RGBColor(213, 94, 0), "orange"),
    (RGBColor(0, 114, 178), "blue"),
    (RGBColor(0, 158, 115), "green"),
    (RGBColor(204, 121, 167), "pink"),
    (RGBColor(86, 180, 233), "sky blue"),
    (RGBColor(230, 159, 0), "yellow"),
];

type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;

/// A line's points (epoch, value) and colour.
type Series = (Vec<(f64, f64)>, RGBColor);

/// `runs`: each run's seed and epoch records; `soup_f1`: the devel F1 of their mean's weights.
pub fn training_curve(
    runs: &[(u64, &[EpochRecord])],
    soup_f1: Option<f64>,
    path: &Path,
) -> Result<()> {
    let root = SVGBackend::new(path, (720, 480)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| anyhow!("{e}"))?;
    let (top, bottom) = root.split_vertically(240);
    let epochs = runs.iter().map(|(_, h)| h.len()).max().unwrap_or(1).max(1) as f64;
    if let [(_, history)] = runs {
        one_run(&top, &bottom, history, epochs)?;
    } else {
        several_runs(&top, &bottom, runs, soup_f1, epochs)?;
    }
    root.present().map_err(|e| anyhow!("{e}"))?;
    Ok(())
}

/// A single run: its loss, and its F1 with that of the mean of its last epochs' weights if any.
fn one_run(top: &Area, bottom: &Area, history: &[EpochRecord], epochs: f64) -> Result<()> {
    let averaged: Vec<(f64, f64)> = history
        .iter()
        .filter_map(|r| {
            Some((
                r.epoch as f64,
                100.0 * r.averaged.as_ref()?.devel.overall.f1,
            ))
        })
        .collect();
    draw(
        top,
        "training loss (mean per epoch)",
        vec![(loss(history), RGBColor(0, 114, 178))],
        false,
        epochs,
    )?;
    let mut f1_series = vec![(f1(history), RGBColor(213, 94, 0))];
    let title = if averaged.is_empty() {
        "devel entity F1 (%)"
    } else {
        f1_series.push((averaged, RGBColor(0, 158, 115)));
        "devel entity F1 (%): each epoch (orange), mean of the last epochs' weights (green)"
    };
    draw(bottom, title, f1_series, false, epochs)
}

/// The runs of a soup, one colour each, and the F1 of their mean's weights as a black line.
fn several_runs(
    top: &Area,
    bottom: &Area,
    runs: &[(u64, &[EpochRecord])],
    soup_f1: Option<f64>,
    epochs: f64,
) -> Result<()> {
    let colours = PALETTE.iter().cycle();
    let key: Vec<String> = runs
        .iter()
        .zip(colours.clone())
        .map(|((seed, _), (_, name))| format!("seed {seed} {name}"))
        .collect();
    let key = key.join(", ");
    draw(
        top,
        &format!("training loss (mean per epoch): {key}"),
        runs.iter()
            .zip(colours.clone())
            .map(|((_, h), (c, _))| (loss(h), *c))
            .collect(),
        false,
        epochs,
    )?;
    // From epoch 3 on: the first epochs' F1 would stretch the axis over the part that decides.
    let late = |h: &[EpochRecord]| {
        f1(h)
            .into_iter()
            .filter(|&(epoch, _)| epoch >= 3.0)
            .collect::<Vec<_>>()
    };
    let mut series: Vec<_> = runs
        .iter()
        .zip(colours)
        .map(|((_, h), (c, _))| (late(h), *c))
        .collect();
    let title = match soup_f1 {
        Some(f1) => {
            series.push((vec![(3.0, 100.0 * f1), (epochs, 100.0 * f1)], BLACK));
            format!(
                "devel entity F1 (%) of each run; black: their mean's weights, {:.2}",
                100.0 * f1
            )
        }
        None => "devel entity F1 (%) of each run".to_string(),
    };
    draw(bottom, &title, series, true, epochs)
}

fn loss(h: &[EpochRecord]) -> Vec<(f64, f64)> {
    h.iter().map(|r| (r.epoch as f64, r.train_loss)).collect()
}

fn f1(h: &[EpochRecord]) -> Vec<(f64, f64)> {
    h.iter()
        .map(|r| (r.epoch as f64, 100.0 * r.devel.overall.f1))
        .collect()
}

/// One panel of `series` over `epochs`. `zoom`: the y axis spans the values (with a margin)
/// instead of starting at 0, where runs a few tenths apart would draw as one line.
fn draw(area: &Area, title: &str, series: Vec<Series>, zoom: bool, epochs: f64) -> Result<()> {
    let values = || series.iter().flat_map(|(values, _)| values).map(|v| v.1);
    let top = values().fold(0.0f64, f64::max);
    let (low, high) = if zoom {
        let low = values().fold(f64::INFINITY, f64::min);
        ((low - 0.5).floor().max(0.0), (top + 0.5).ceil())
    } else {
        (0.0, top * 1.1 + 1e-9)
    };
    let mut chart = ChartBuilder::on(area)
        .caption(title, ("sans-serif", 18))
        .margin(10)
        .x_label_area_size(30)
        .y_label_area_size(50)
        .build_cartesian_2d(0.5f64..epochs + 0.5, low..high)
        .map_err(|e| anyhow!("{e}"))?;
    chart
        .configure_mesh()
        .x_desc("epoch")
        .draw()
        .map_err(|e| anyhow!("{e}"))?;
    for (values, colour) in &series {
        chart
            .draw_series(LineSeries::new(
                values.iter().copied(),
                colour.stroke_width(2),
            ))
            .map_err(|e| anyhow!("{e}"))?;
        chart
            .draw_series(
                values
                    .iter()
                    .map(|&(x, y)| Circle::new((x, y), 3, colour.filled())),
            )
            .map_err(|e| anyhow!("{e}"))?;
    }
    Ok(())
}
