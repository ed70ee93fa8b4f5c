//! `/help`: what newshound does, every command, and the query syntax.

use serenity::all::CreateCommand;

use super::Reply;

/// The `/help` text.
pub fn help_text() -> String {
    "**newshound** pings you when news matching your keywords is published.\n\
**Your subscriptions**\n\
`/subscribe query: Meta` — alerts for items mentioning Meta (commas add several: `Meta, Gemini`)\n\
`/subscribe query: Gemini channel: #ai dm: true` — pick where alerts go (a channel, or a DM)\n\
`/subscribe query: Gemini source: Tech Wire` — only that source's items (`source: any` to undo)\n\
`/unsubscribe query: Meta` · `/subscriptions` · `/preview query: Meta` (what it matched in the last 24 h)\n\
`/pause` · `/resume` — stop and restart your alerts without losing subscriptions\n\
**Less noise**\n\
`/subscribe query: Meta mode: daily at: 08:00` — one digest a day instead of a ping per item (`hourly` too; run it again to change)\n\
`/snooze query: Meta for: 3d` — silence one subscription for a while (`for: off` to wake it)\n\
`/settings timezone: Europe/Paris quiet_hours: 22:00-07:00 max_per_hour: 5` — held alerts arrive as a digest afterwards\n\
**Query syntax**\n\
`Meta Gemini` — both words · `Meta OR Facebook` — either · `\"Google Cloud\"` — exact phrase\n\
`-horoscope` / `-\"star sign\"` — exclude · `title:Gemini` — only in titles · `gem*` — words starting with gem\n\
`Meta NEAR/3 AI` — both, at most 3 words between them, either order (n: 1–50) · `Meta SENTENCE AI` — both in one sentence\n\
Whole words only: `Meta` never matches \"metadata\". Lower-case words match any case; a capitalised word is a name (`Meta` matches \"Meta\" and \"META\", not \"meta-analysis\"). Accents are ignored.\n\
**Server admins** (Manage Server): `/sources list|add|remove`, `/alerts default|add|list|remove|log`"
        .to_string()
}

/// The `/help` reply (also the one command that works outside a server).
pub fn reply() -> Reply {
    Reply::private(help_text())
}

pub fn definition() -> CreateCommand {
    CreateCommand::new("help").description("How newshound works and the query syntax")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::limits::MESSAGE_CONTENT_MAX;

    #[test]
    fn help_fits_one_message_and_names_every_command() {
        let text = help_text();
        assert!(
            text.chars().count() <= MESSAGE_CONTENT_MAX,
            "{}",
            text.chars().count()
        );
        for command in [
            "/subscribe",
            "/unsubscribe",
            "/subscriptions",
            "/preview",
            "/pause",
            "/resume",
            "/snooze",
            "/settings",
            "/sources",
            "/alerts",
        ] {
            assert!(text.contains(command), "{command} missing");
        }
        for operator in ["OR", "NEAR/3", "SENTENCE", "title:", "gem*"] {
            assert!(text.contains(operator), "{operator} missing");
        }
        assert!(reply().ephemeral);
    }
}
