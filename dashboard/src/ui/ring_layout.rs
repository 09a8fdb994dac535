//! Where the places of a ring go, for any number of them: on an ellipse
//! that fills the pane, in route order counter-clockwise from the right
//! (so a four-place cycle sits right, top, left, bottom), and the entries
//! (where packets come in) in the corners when that leaves room.
//!
//! The first arrangement whose labels neither overlap nor leave the pane
//! wins, trying in turn: three-line labels, then two, then one; labels as
//! wide as their text, then narrower; entries in corners, then on the
//! ellipse; a few rotations. When none fits, the caller draws a table.

/// Label widths tried, from the first down to the second.
pub const MAX_W: u16 = 17;
pub const MIN_W: u16 = 10;
/// Rotations tried, in fractions of the angle between two places.
const ROTATIONS: u16 = 8;

/// Where each place's label goes (top-left cell, pane-relative), and how
/// big every label is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arrangement {
    pub width: u16,
    pub lines: u16,
    /// One per place, in the places' order.
    pub spots: Vec<(u16, u16)>,
}

impl Arrangement {
    /// The middle of a label's first line, where edges start and end.
    pub fn anchor(&self, i: usize) -> (u16, u16) {
        let (x, y) = self.spots[i];
        (x + self.width / 2, y)
    }
}

/// `entries[i]`: place `i` is an entry. `natural_w`: the width its widest
/// label needs. `(w, h)`: the pane's inner size.
pub fn arrange(entries: &[bool], natural_w: u16, w: u16, h: u16) -> Option<Arrangement> {
    if entries.is_empty() {
        return None;
    }
    let widest = natural_w.clamp(MIN_W, MAX_W).min(w);
    let n_entries = entries.iter().filter(|e| **e).count();
    let can_corner = (1..=4).contains(&n_entries) && n_entries < entries.len();
    for lines in [3u16, 2, 1] {
        for width in (MIN_W.min(widest)..=widest).rev() {
            for corners in [true, false] {
                if corners && !can_corner {
                    continue;
                }
                for k in 0..ROTATIONS {
                    let spots = place(entries, corners, width, lines, w, h, k);
                    if let Some(spots) = spots.filter(|s| fits(s, width, lines, w, h)) {
                        return Some(Arrangement { width, lines, spots });
                    }
                }
            }
        }
    }
    None
}

fn place(entries: &[bool], corners: bool, bw: u16, lines: u16, w: u16, h: u16, k: u16) -> Option<Vec<(u16, u16)>> {
    if bw > w || lines > h {
        return None;
    }
    let on_ring: Vec<usize> = (0..entries.len()).filter(|i| !(corners && entries[*i])).collect();
    let n = on_ring.len();
    let (cx, cy) = (f64::from(w - bw) / 2.0, f64::from(h - lines) / 2.0);
    let step = std::f64::consts::TAU / n.max(1) as f64;
    let rot = step * f64::from(k) / f64::from(ROTATIONS);
    // Halves round down, on both sides alike (cos π is not exactly -1).
    let cell = |v: f64| (v - 1e-6).round().max(0.0) as u16;
    let mut spots = vec![(0, 0); entries.len()];
    for (j, &i) in on_ring.iter().enumerate() {
        spots[i] = if n == 1 {
            (cell(cx), cell(cy))
        } else {
            let phi = rot + step * j as f64;
            (cell(cx * (1.0 + phi.cos())), cell(cy * (1.0 - phi.sin())))
        };
    }
    let corner_spots = [(w - bw, 0), (0, 0), (w - bw, h - lines), (0, h - lines)];
    let mut corner = corner_spots.iter();
    for (i, _) in entries.iter().enumerate().filter(|(_, e)| corners && **e) {
        spots[i] = *corner.next()?;
    }
    Some(spots)
}

/// Inside the pane, and no two labels touching side by side or overlapping.
fn fits(spots: &[(u16, u16)], bw: u16, lines: u16, w: u16, h: u16) -> bool {
    let inside = spots.iter().all(|&(x, y)| x + bw <= w && y + lines <= h);
    inside
        && spots.iter().enumerate().all(|(i, &(x1, y1))| {
            spots[i + 1..].iter().all(|&(x2, y2)| {
                let apart_x = x1 + bw < x2 || x2 + bw < x1;
                let apart_y = y1 + lines <= y2 || y2 + lines <= y1;
                apart_x || apart_y
            })
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn overlaps(a: &Arrangement) -> bool {
        !fits(&a.spots, a.width, a.lines, u16::MAX, u16::MAX)
    }

    #[test]
    fn four_in_a_cycle_and_an_entry_sit_as_a_diamond_with_the_entry_in_a_corner() {
        let a = arrange(&[true, false, false, false, false], 17, 53, 10).unwrap();
        assert_eq!((a.width, a.lines), (17, 3));
        // entry top-right; then right, top, left, bottom.
        assert_eq!(a.spots, [(36, 0), (36, 3), (18, 0), (0, 3), (18, 7)]);
    }

    #[test]
    fn any_count_up_to_twelve_fits_a_big_pane_and_never_overlaps() {
        for n in 1..=12 {
            for entries in [vec![false; n], (0..n).map(|i| i == 0).collect()] {
                for (w, h) in [(53, 10), (64, 16), (92, 16), (118, 30)] {
                    if let Some(a) = arrange(&entries, 17, w, h) {
                        assert!(!overlaps(&a), "{n} at {w}x{h}: {a:?}");
                        assert!(a.spots.iter().all(|&(x, y)| x + a.width <= w && y + a.lines <= h));
                    } else {
                        assert!(n > 6 && (w, h) == (53, 10) || n > 10, "{n} places do not fit {w}x{h}");
                    }
                }
            }
        }
    }

    #[test]
    fn tiny_panes_get_nothing_rather_than_a_mess() {
        assert!(arrange(&[false; 5], 17, 20, 2).is_none());
        assert!(arrange(&[false; 3], 17, 0, 0).is_none());
        assert!(arrange(&[], 17, 50, 10).is_none());
        let one = arrange(&[false], 12, 12, 1).unwrap();
        assert_eq!(one.spots, [(0, 0)]);
    }
}
