//! Output: section headers, aligned tables, event lines and a live traffic
//! line. Colour and in-place updates only when stdout is a terminal.

use std::{cell::Cell, io::Write, time::Duration};

const PALETTE: [&str; 6] = ["36", "35", "33", "34", "32", "91"];

pub struct Out {
    color: bool,
    tty: bool,
    live_shown: Cell<bool>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Left,
    Right,
}

impl Out {
    pub fn new(tty: bool) -> Out {
        Out {
            color: tty && std::env::var_os("NO_COLOR").is_none(),
            tty,
            live_shown: Cell::new(false),
        }
    }

    pub fn tty(&self) -> bool {
        self.tty
    }

    fn paint(&self, code: &str, s: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }

    pub fn bold(&self, s: &str) -> String {
        self.paint("1", s)
    }
    pub fn dim(&self, s: &str) -> String {
        self.paint("2", s)
    }
    pub fn green(&self, s: &str) -> String {
        self.paint("32", s)
    }
    pub fn red(&self, s: &str) -> String {
        self.paint("31", s)
    }
    pub fn yellow(&self, s: &str) -> String {
        self.paint("33", s)
    }

    /// Router `i` (1-based) in its own colour: "g1".
    pub fn router(&self, i: usize) -> String {
        self.paint(PALETTE[(i - 1) % PALETTE.len()], &format!("g{i}"))
    }

    /// Any text in router `i`'s colour (its vMAC, its bar).
    pub fn in_router_color(&self, i: usize, s: &str) -> String {
        self.paint(PALETTE[(i - 1) % PALETTE.len()], s)
    }

    pub fn line(&self, s: &str) {
        self.clear_live();
        println!("{s}");
    }

    pub fn blank(&self) {
        self.line("");
    }

    pub fn section(&self, n: usize, title: &str) {
        self.blank();
        self.line(&self.bold(&format!("{} {title}", circled(n))));
    }

    /// An indented paragraph line.
    pub fn say(&self, s: &str) {
        self.line(&format!("  {s}"));
    }

    pub fn note(&self, s: &str) {
        self.line(&format!("  {}", self.dim(s)));
    }

    pub fn ok(&self, s: &str) {
        self.line(&format!("  {} {s}", self.green("✓")));
    }

    pub fn bad(&self, s: &str) {
        self.line(&format!("  {} {s}", self.red("✗")));
    }

    /// One agent log line: time since the lab started, router, message.
    pub fn event(&self, t: Duration, router: usize, level: &str, msg: &str) {
        let msg = msg.replace(" -> ", " → ");
        let msg = match level {
            "ERROR" => self.red(&msg),
            "WARN" => self.yellow(&msg),
            _ => highlight(self, &msg),
        };
        self.line(&format!(
            "  {}  {}  {msg}",
            self.dim(&clock(t)),
            self.router(router)
        ));
    }

    /// A line that updates in place on a terminal (printed as a plain line
    /// otherwise; the caller decides how often).
    pub fn live(&self, s: &str) {
        if self.tty {
            print!("\r\x1b[2K  {s}");
            let _ = std::io::stdout().flush();
            self.live_shown.set(true);
        } else {
            println!("  {s}");
        }
    }

    /// Keeps the current live line on screen as a normal line.
    pub fn commit_live(&self) {
        if self.live_shown.replace(false) {
            println!();
        }
    }

    pub fn clear_live(&self) {
        if self.live_shown.replace(false) {
            print!("\r\x1b[2K");
            let _ = std::io::stdout().flush();
        }
    }

    /// An aligned table, indented two spaces; cells may carry colour.
    pub fn table(&self, head: &[(&str, Align)], rows: &[Vec<String>]) {
        for l in table_lines(self, head, rows) {
            self.line(&l);
        }
    }
}

fn highlight(out: &Out, msg: &str) -> String {
    let mut s = msg.to_string();
    for (word, code) in [("→ Active", "1;32"), ("→ Standby", "1;36")] {
        if s.contains(word) {
            s = s.replace(word, &out.paint(code, word));
        }
    }
    s
}

pub fn table_lines(out: &Out, head: &[(&str, Align)], rows: &[Vec<String>]) -> Vec<String> {
    let mut width: Vec<usize> = head.iter().map(|(h, _)| visible_len(h)).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate().take(width.len()) {
            width[i] = width[i].max(visible_len(c));
        }
    }
    let fmt_row = |cells: &[String]| {
        let mut l = String::from("  ");
        for (i, c) in cells.iter().enumerate().take(width.len()) {
            let pad = " ".repeat(width[i] - visible_len(c));
            if i > 0 {
                l.push_str("  ");
            }
            match head[i].1 {
                Align::Left => {
                    l.push_str(c);
                    if i + 1 < cells.len() {
                        l.push_str(&pad);
                    }
                }
                Align::Right => {
                    l.push_str(&pad);
                    l.push_str(c);
                }
            }
        }
        l
    };
    let mut lines = vec![out.dim(&fmt_row(
        &head.iter().map(|(h, _)| h.to_string()).collect::<Vec<_>>(),
    ))];
    lines.extend(rows.iter().map(|r| fmt_row(r)));
    lines
}

/// Characters a terminal shows (ANSI escapes skipped).
pub fn visible_len(s: &str) -> usize {
    let mut n = 0;
    let mut esc = false;
    for c in s.chars() {
        if esc {
            if c == 'm' {
                esc = false;
            }
        } else if c == '\x1b' {
            esc = true;
        } else {
            n += 1;
        }
    }
    n
}

pub fn circled(n: usize) -> char {
    char::from_u32(0x2460 + (n as u32).saturating_sub(1).min(19)).unwrap_or('*')
}

/// Time since the lab started: "  1.234s", or "1:02.5" past a minute.
pub fn clock(t: Duration) -> String {
    let s = t.as_secs_f64();
    if s < 60.0 {
        format!("{s:7.3}s")
    } else {
        format!("{:>4}:{:04.1}", (s / 60.0) as u64, s % 60.0)
    }
}

/// "712 ms" or "1.25 s".
pub fn ms(d: Duration) -> String {
    let m = d.as_millis();
    if m < 10_000 {
        format!("{m} ms")
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}

/// "3 s", "700 ms", "10 min".
pub fn span(d: Duration) -> String {
    let m = d.as_millis();
    if m < 1000 {
        format!("{m} ms")
    } else if m.is_multiple_of(3_600_000) {
        format!("{} h", m / 3_600_000)
    } else if m.is_multiple_of(60_000) && m >= 120_000 {
        format!("{} min", m / 60_000)
    } else if m.is_multiple_of(1000) {
        format!("{} s", m / 1000)
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}

/// A bar of `width` cells for `v` out of `max`.
pub fn bar(v: f64, max: f64, width: usize) -> String {
    if max <= 0.0 || v <= 0.0 {
        return " ".repeat(width);
    }
    const EIGHTHS: [char; 8] = ['▏', '▎', '▍', '▌', '▋', '▊', '▉', '█'];
    let cells = (v / max * width as f64).clamp(0.0, width as f64);
    let full = cells.floor() as usize;
    let mut s = "█".repeat(full);
    let frac = ((cells - full as f64) * 8.0).round() as usize;
    if full < width {
        if frac > 0 {
            s.push(EIGHTHS[frac - 1]);
        } else if full == 0 {
            s.push('▏');
        } else {
            s.push(' ');
        }
        s.push_str(&" ".repeat(width - full - 1));
    }
    s
}

/// "g1, g2 and g3".
pub fn and_list(items: &[String]) -> String {
    match items.len() {
        0 => "nobody".into(),
        1 => items[0].clone(),
        n => format!("{} and {}", items[..n - 1].join(", "), items[n - 1]),
    }
}

pub fn number_word(n: usize) -> String {
    const W: [&str; 13] = [
        "no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
        "eleven", "twelve",
    ];
    W.get(n)
        .map(|w| w.to_string())
        .unwrap_or_else(|| n.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_with_colour() {
        let out = Out {
            color: true,
            tty: true,
            live_shown: Cell::new(false),
        };
        let rows = vec![
            vec!["h1".into(), out.router(1), "712 ms".into()],
            vec!["h10".into(), out.router(2), "0 ms".into()],
        ];
        let l = table_lines(
            &out,
            &[
                ("host", Align::Left),
                ("router", Align::Left),
                ("outage", Align::Right),
            ],
            &rows,
        );
        let plain: Vec<String> = l.iter().map(|s| strip(s)).collect();
        assert_eq!(
            plain,
            vec![
                "  host  router  outage",
                "  h1    g1      712 ms",
                "  h10   g2        0 ms"
            ]
        );
    }

    fn strip(s: &str) -> String {
        let mut o = String::new();
        let mut esc = false;
        for c in s.chars() {
            if esc {
                esc = c != 'm';
            } else if c == '\x1b' {
                esc = true;
            } else {
                o.push(c);
            }
        }
        o
    }

    #[test]
    fn formats() {
        assert_eq!(clock(Duration::from_millis(1234)), "  1.234s");
        assert_eq!(clock(Duration::from_millis(62_500)), "   1:02.5");
        assert_eq!(ms(Duration::from_millis(712)), "712 ms");
        assert_eq!(span(Duration::from_millis(700)), "700 ms");
        assert_eq!(span(Duration::from_secs(3)), "3 s");
        assert_eq!(span(Duration::from_secs(600)), "10 min");
        assert_eq!(span(Duration::from_secs(14_400)), "4 h");
        assert_eq!(bar(4.0, 8.0, 4), "██  ");
        assert_eq!(bar(0.0, 8.0, 3), "   ");
        assert_eq!(bar(8.0, 8.0, 3), "███");
        assert_eq!(visible_len("\x1b[36mg1\x1b[0m"), 2);
        assert_eq!(circled(1), '①');
        assert_eq!(circled(6), '⑥');
        assert_eq!(
            and_list(&["a".into(), "b".into(), "c".into()]),
            "a, b and c"
        );
    }
}
