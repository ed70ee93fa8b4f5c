//! The operators' status page (`GET /`): plain server-rendered HTML, no script, readable on a
//! phone. Pure: it renders what the store said, and escapes every string (source names, feed
//! titles and error texts come from strangers).

use std::fmt::Write as _;

use chrono::{DateTime, Utc};

use crate::core::model::SourceState;
use crate::store::{AlertStatus, Backlog, RecentAlert, ServerSubscriptions, SourceRow};

/// Everything the page shows, read at request time.
pub struct StatusView {
    pub now: DateTime<Utc>,
    pub sources: Vec<SourceRow>,
    pub backlog: Backlog,
    pub recent: Vec<RecentAlert>,
    pub servers: Vec<ServerSubscriptions>,
}

fn esc(text: &str) -> String {
    html_escape::encode_text(text).replace('"', "&quot;")
}

fn when(t: Option<DateTime<Utc>>) -> String {
    t.map_or_else(
        || "—".to_string(),
        |t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
    )
}

/// "3 min", "2 h 5 min": how long ago (or from now) for a human.
fn span(seconds: i64) -> String {
    let s = seconds.abs();
    if s < 60 {
        format!("{s} s")
    } else if s < 3600 {
        format!("{} min", s / 60)
    } else if s < 86_400 {
        format!("{} h {} min", s / 3600, (s % 3600) / 60)
    } else {
        format!("{} d {} h", s / 86_400, (s % 86_400) / 3600)
    }
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:1rem;line-height:1.4;color:#222}\
h1{font-size:1.4rem}h2{font-size:1.1rem;margin-top:1.5rem}\
table{border-collapse:collapse;width:100%;font-size:.9rem}\
th,td{border-bottom:1px solid #ddd;padding:.3rem .4rem;text-align:left;vertical-align:top}\
th{background:#f4f4f4}.wrap{overflow-x:auto}\
.ok{color:#176f2c}.bad{color:#b00020;font-weight:600}.warn{color:#8a5a00}\
td.err{word-break:break-word;max-width:28rem}";

fn state_class(state: SourceState) -> &'static str {
    match state {
        SourceState::Ok => "ok",
        SourceState::New => "",
        SourceState::Damaged | SourceState::Backoff => "warn",
        SourceState::Paused => "bad",
    }
}

/// The whole page.
pub fn render(view: &StatusView) -> String {
    let mut out = String::with_capacity(8192);
    out.push_str(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>newshound status</title><style>",
    );
    out.push_str(STYLE);
    out.push_str("</style></head><body><h1>newshound status</h1>");
    let _ = write!(
        out,
        "<p>As of {}. {} sources.</p>",
        when(Some(view.now)),
        view.sources.len()
    );
    render_backlog(&mut out, view);
    render_sources(&mut out, view);
    render_recent(&mut out, view);
    render_servers(&mut out, view);
    out.push_str("</body></html>\n");
    out
}

fn render_backlog(out: &mut String, view: &StatusView) {
    out.push_str("<h2>Delivery backlog</h2><p id=\"backlog\">");
    match view.backlog.oldest {
        Some(oldest) if view.backlog.pending > 0 => {
            let age = (view.now - oldest).num_seconds().max(0);
            let _ = write!(
                out,
                "<span class=\"{}\">{} alerts pending</span>, the oldest written {} ago.",
                if age > 600 { "bad" } else { "warn" },
                view.backlog.pending,
                span(age)
            );
        }
        _ => out.push_str("<span class=\"ok\">Nothing pending</span>: every alert was delivered."),
    }
    out.push_str("</p>");
}

fn render_sources(out: &mut String, view: &StatusView) {
    out.push_str(
        "<h2>Sources</h2><div class=\"wrap\"><table id=\"sources\"><thead><tr><th>Source</th>\
         <th>State</th><th>Last success</th><th>Next check</th><th>Last error</th></tr></thead><tbody>",
    );
    for s in &view.sources {
        let state = match (s.state, &s.paused_reason) {
            (SourceState::Paused, Some(reason)) => format!("paused: {reason}"),
            (SourceState::Backoff, _) => format!("backoff ({} failures)", s.failures),
            (state, _) => state.to_string(),
        };
        let _ = write!(
            out,
            "<tr><td>{}<br><small>{}</small></td><td class=\"{}\">{}</td><td>{}</td><td>{}</td><td class=\"err\">{}</td></tr>",
            esc(&s.name),
            esc(&s.url),
            state_class(s.state),
            esc(&state),
            when(s.last_success_at),
            when(s.next_check_at),
            s.last_error.as_deref().map_or_else(|| "—".to_string(), esc),
        );
    }
    if view.sources.is_empty() {
        out.push_str("<tr><td colspan=\"5\">No sources yet.</td></tr>");
    }
    out.push_str("</tbody></table></div>");
}

fn render_recent(out: &mut String, view: &StatusView) {
    out.push_str(
        "<h2>Recent alerts</h2><div class=\"wrap\"><table id=\"alerts\"><thead><tr><th>Title</th>\
         <th>Source</th><th>Target</th><th>Written</th><th>Delivered?</th></tr></thead><tbody>",
    );
    for a in &view.recent {
        let (class, status) = match &a.status {
            AlertStatus::Delivered(at) => ("ok", format!("delivered {}", when(Some(*at)))),
            AlertStatus::Pending(None) => ("warn", "pending".to_string()),
            AlertStatus::Pending(Some(error)) => ("warn", format!("pending: {error}")),
            AlertStatus::Dropped(reason) => ("bad", format!("dropped: {reason}")),
        };
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"{class} err\">{}</td></tr>",
            esc(&a.title),
            esc(&a.source),
            esc(&a.target),
            when(a.created_at),
            esc(&status)
        );
    }
    if view.recent.is_empty() {
        out.push_str("<tr><td colspan=\"5\">No alerts yet.</td></tr>");
    }
    out.push_str("</tbody></table></div>");
}

fn render_servers(out: &mut String, view: &StatusView) {
    out.push_str(
        "<h2>Subscriptions per server</h2><div class=\"wrap\"><table id=\"servers\"><thead><tr>\
         <th>Server</th><th>Subscriptions</th><th>Members</th></tr></thead><tbody>",
    );
    for s in &view.servers {
        let server = s
            .guild_id
            .as_deref()
            .map_or_else(|| "config file".to_string(), esc);
        let _ = write!(
            out,
            "<tr><td>{server}</td><td>{}</td><td>{}</td></tr>",
            s.subscriptions, s.members
        );
    }
    if view.servers.is_empty() {
        out.push_str("<tr><td colspan=\"3\">No subscriptions yet.</td></tr>");
    }
    out.push_str("</tbody></table></div>");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::model::Origin;
    use chrono::TimeZone;

    fn source(name: &str, state: SourceState, error: Option<&str>) -> SourceRow {
        SourceRow {
            url: "https://example.com/feed.xml".to_string(),
            origin: Origin::Config,
            state,
            failures: 2,
            last_error: error.map(str::to_string),
            ..SourceRow::sample(name)
        }
    }

    fn view() -> StatusView {
        let now = Utc.with_ymd_and_hms(2026, 12, 3, 12, 0, 0).unwrap();
        StatusView {
            now,
            sources: vec![source(
                "<script>alert(1)</script>",
                SourceState::Backoff,
                Some("HTTP 500 from <b>server</b>"),
            )],
            backlog: Backlog {
                pending: 4,
                oldest: Some(now - chrono::Duration::minutes(20)),
            },
            recent: vec![RecentAlert {
                title: "Meta & \"Gemini\" <img src=x onerror=alert(1)>".to_string(),
                source: "Wire".to_string(),
                target: "news".to_string(),
                created_at: Some(now),
                status: AlertStatus::Dropped("Discord said 400".to_string()),
            }],
            servers: vec![ServerSubscriptions {
                guild_id: Some("42".to_string()),
                subscriptions: 7,
                members: 3,
            }],
        }
    }

    #[test]
    fn feed_text_is_escaped_everywhere() {
        let html = render(&view());
        assert!(!html.contains("<script>alert"), "{html}");
        assert!(!html.contains("<img src=x"), "{html}");
        assert!(!html.contains("<b>server"), "{html}");
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(html.contains("Meta &amp; &quot;Gemini&quot; &lt;img"));
        assert!(!html.contains("<script"), "no script at all");
    }

    #[test]
    fn shows_backlog_errors_and_counts() {
        let html = render(&view());
        assert!(html.contains("4 alerts pending</span>, the oldest written 20 min ago"));
        assert!(html.contains("backoff (2 failures)"));
        assert!(html.contains("HTTP 500 from &lt;b&gt;server&lt;/b&gt;"));
        assert!(html.contains("dropped: Discord said 400"));
        assert!(html.contains("<td>42</td><td>7</td><td>3</td>"));
        assert!(html.contains("name=\"viewport\""));
    }

    #[test]
    fn an_empty_install_says_so() {
        let mut v = view();
        v.sources.clear();
        v.recent.clear();
        v.servers.clear();
        v.backlog = Backlog::default();
        let html = render(&v);
        assert!(html.contains("No sources yet."));
        assert!(html.contains("Nothing pending"));
        assert!(html.contains("No alerts yet."));
    }
}
