//! The pieces of `index.html`: escaping, tables, figures and the page frame. Everything is
//! inline (style and script), so the page opens from `file://` with no network.

use std::fmt::Write;

/// Escapes text for HTML element content and double-quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// A number for a table: four significant digits, scientific outside [10⁻³, 10⁵).
pub fn num(v: f64) -> String {
    if !v.is_finite() {
        return "–".to_owned();
    }
    if v == 0.0 {
        return "0".to_owned();
    }
    let a = v.abs();
    if !(1e-3..1e5).contains(&a) {
        return format!("{v:.3e}");
    }
    let decimals = (3 - a.log10().floor() as i32).clamp(0, 6) as usize;
    let s = format!("{v:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        s
    }
}

/// A table of text cells (escaped when written).
#[derive(Clone, Debug, Default)]
pub struct Table {
    /// Caption above the table.
    pub caption: String,
    /// Column headings.
    pub head: Vec<String>,
    /// Rows of cells.
    pub rows: Vec<Vec<String>>,
}

impl Table {
    /// An empty table with a caption and headings.
    pub fn new(caption: &str, head: &[&str]) -> Table {
        Table {
            caption: caption.to_owned(),
            head: head.iter().map(|h| (*h).to_owned()).collect(),
            rows: Vec::new(),
        }
    }

    /// Adds a row.
    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// The table as HTML; nothing for a table without rows.
    pub fn to_html(&self) -> String {
        if self.rows.is_empty() {
            return String::new();
        }
        let mut s = String::from("<table>");
        if !self.caption.is_empty() {
            let _ = write!(s, "<caption>{}</caption>", escape(&self.caption));
        }
        s.push_str("<thead><tr>");
        for h in &self.head {
            let _ = write!(s, "<th>{}</th>", escape(h));
        }
        s.push_str("</tr></thead><tbody>\n");
        for row in &self.rows {
            s.push_str("<tr>");
            for c in row {
                let _ = write!(s, "<td>{}</td>", escape(c));
            }
            s.push_str("</tr>\n");
        }
        s.push_str("</tbody></table>\n");
        s
    }
}

/// A figure block: the SVG shown, the PNG linked, the title as alt text and caption.
pub fn figure(file_stem: &str, title: &str, width: u32, height: u32) -> String {
    let stem = escape(file_stem);
    let title = escape(title);
    format!(
        "<figure><img src=\"figures/{stem}.svg\" alt=\"{title}\" width=\"{width}\" \
         height=\"{height}\"><figcaption>{title} — <a href=\"figures/{stem}.svg\">SVG</a> · \
         <a href=\"figures/{stem}.png\">PNG</a></figcaption></figure>\n"
    )
}

const STYLE: &str = "body{font-family:'DejaVu Sans',Helvetica,Arial,sans-serif;margin:2em auto;\
max-width:1800px;padding:0 1em;color:#222;line-height:1.4}\
h1{font-size:1.8em}h2{border-bottom:2px solid #ddd;padding-bottom:.2em;margin-top:2em}\
section{margin-bottom:2em}figure{display:inline-block;margin:.5em;vertical-align:top}\
figure img{max-width:100%;height:auto;border:1px solid #eee}figcaption{font-size:.9em;color:#555}\
table{border-collapse:collapse;margin:.8em 0;font-size:.9em}caption{text-align:left;font-weight:bold;\
padding:.3em 0}th,td{border:1px solid #ccc;padding:.25em .6em;text-align:left}\
th{background:#f4f4f4}td{font-variant-numeric:tabular-nums}pre{background:#f8f8f8;padding:.8em;\
overflow:auto;font-size:.85em}.kind{color:#666}details{margin:.5em 0}";

/// Counts the figures that really decoded, for the browser test (and for anyone wondering
/// why a figure is blank): `data-figures="ok/total"` on `<body>` once everything loaded.
const SCRIPT: &str = "window.addEventListener('load',function(){var ok=0,imgs=document.images;\
for(var i=0;i<imgs.length;i++){if(imgs[i].complete&&imgs[i].naturalWidth>0){ok++;}}\
document.body.dataset.figures=ok+'/'+imgs.length;});";

/// The whole page around `body` (already HTML).
pub fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body data-figures=\"pending\">\n\
         {body}<script>{SCRIPT}</script>\n</body>\n</html>\n",
        escape(title)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_neutralises_markup() {
        assert_eq!(
            escape("<script>\"a\" & 'b'</script>"),
            "&lt;script&gt;&quot;a&quot; &amp; &#39;b&#39;&lt;/script&gt;"
        );
    }

    #[test]
    fn numbers_keep_four_digits() {
        assert_eq!(num(0.123456), "0.1235");
        assert_eq!(num(12.0), "12");
        assert_eq!(num(1.5e-6), "1.500e-6");
        assert_eq!(num(f64::NAN), "–");
    }

    #[test]
    fn empty_tables_vanish_and_cells_are_escaped() {
        let mut t = Table::new("c", &["a"]);
        assert_eq!(t.to_html(), "");
        t.row(vec!["<b>".into()]);
        assert!(t.to_html().contains("<td>&lt;b&gt;</td>"));
    }
}
