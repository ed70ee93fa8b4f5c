//! Gateway sharding: which shards this process runs (`[discord] shard_count` and `shards`),
//! parsed and checked without touching Discord, and Discord's rule for a guild's shard.
//!
//! Discord requires sharding past 2,500 guilds: each gateway connection (a shard) carries the
//! guilds with `(guild_id >> 22) % shard_count == shard_id` and their interactions. One
//! process may run every shard or a range of them; all processes must agree on the count.

use std::fmt;
use std::ops::RangeInclusive;

/// The largest `shard_count` accepted: a sanity bound far above any bot's need (Discord wants
/// at most 2,500 guilds per shard).
pub const MAX_SHARD_COUNT: u32 = 65_535;

/// `[discord] shard_count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShardCount {
    /// This many shards in total, across every process.
    Fixed(u32),
    /// Discord's recommended count (`GET /gateway/bot`), read when the process starts.
    Auto,
}

impl fmt::Display for ShardCount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ShardCount::Fixed(n) => write!(f, "{n}"),
            ShardCount::Auto => f.write_str("\"auto\""),
        }
    }
}

/// `[discord] shards`: the shard ids one process runs, both ends included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShardRange {
    pub first: u32,
    pub last: u32,
}

impl ShardRange {
    /// Every shard id in the range.
    pub fn ids(self) -> RangeInclusive<u32> {
        self.first..=self.last
    }
}

impl fmt::Display for ShardRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.first == self.last {
            write!(f, "{}", self.first)
        } else {
            write!(f, "{}-{}", self.first, self.last)
        }
    }
}

/// The validated `[discord]` sharding keys; absent (`None` in the config) when the process
/// runs unsharded, as one shard of one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sharding {
    pub count: ShardCount,
    /// `None`: every shard.
    pub range: Option<ShardRange>,
}

/// What this process starts: the shards `range` out of `total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShardPlan {
    pub range: ShardRange,
    pub total: u32,
}

/// What a bad `shards` value is told.
pub const RANGE_FORM: &str = "must be one shard id such as \"2\" or an inclusive range such as \"0-3\" (shard ids count from 0)";

/// Parses `"A-B"` or `"A"` (both ends included). Checks the form and the order only; whether
/// it fits the shard count is [`check_fits`].
pub fn parse_range(text: &str) -> Result<ShardRange, String> {
    let id = |part: &str| {
        let part = part.trim();
        if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
            return Err(RANGE_FORM.to_string());
        }
        part.parse::<u32>().map_err(|_| RANGE_FORM.to_string())
    };
    let (first, last) = if let Some((a, b)) = text.split_once('-') {
        (id(a)?, id(b)?)
    } else {
        let only = id(text)?;
        (only, only)
    };
    if first > last {
        return Err(format!(
            "starts after it ends: write the lower id first, e.g. \"{last}-{first}\""
        ));
    }
    Ok(ShardRange { first, last })
}

/// `Ok` when every id of `range` exists among `total` shards (ids `0..total`).
pub fn check_fits(range: ShardRange, total: u32) -> Result<(), String> {
    if range.last < total {
        return Ok(());
    }
    let highest = total.saturating_sub(1);
    Err(format!(
        "shard {} does not exist: with {total} shard(s) the ids run from 0 to {highest}; use a range ending at {highest} at most, or raise discord.shard_count",
        range.last
    ))
}

impl Sharding {
    /// The shards to start. `recommended` is Discord's count from `GET /gateway/bot`, needed
    /// (and only read) when the count is `"auto"`.
    pub fn plan(&self, recommended: Option<u32>) -> Result<ShardPlan, String> {
        let total = match self.count {
            ShardCount::Fixed(n) => n,
            ShardCount::Auto => match recommended {
                Some(n) if n >= 1 => n,
                _ => {
                    return Err(
                        "discord.shard_count = \"auto\": Discord did not recommend a shard count (GET /gateway/bot); set discord.shard_count to a number".to_string(),
                    )
                }
            },
        };
        let range = self.range.unwrap_or(ShardRange {
            first: 0,
            last: total - 1,
        });
        check_fits(range, total).map_err(|why| match self.count {
            ShardCount::Auto => format!(
                "discord.shards = \"{range}\" does not fit the {total} shard(s) Discord recommends for discord.shard_count = \"auto\": {why}. With several processes set discord.shard_count to a fixed number they all share"
            ),
            ShardCount::Fixed(_) => format!("discord.shards = \"{range}\": {why}"),
        })?;
        Ok(ShardPlan { range, total })
    }
}

/// The shard that carries `guild_id`'s events among `total` shards (Discord's rule).
pub fn shard_of(guild_id: u64, total: u32) -> u32 {
    let shard = (guild_id >> 22) % u64::from(total.max(1));
    // `shard < total <= u32::MAX`, so this never truncates.
    u32::try_from(shard).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(first: u32, last: u32) -> ShardRange {
        ShardRange { first, last }
    }

    #[test]
    fn a_range_includes_both_ends() {
        assert_eq!(parse_range("0-1"), Ok(range(0, 1)));
        assert_eq!(parse_range(" 2 - 3 "), Ok(range(2, 3)));
        assert_eq!(range(2, 3).ids().collect::<Vec<_>>(), vec![2, 3]);
    }

    #[test]
    fn a_single_id_is_a_range_of_one() {
        assert_eq!(parse_range("3"), Ok(range(3, 3)));
        assert_eq!(range(3, 3).to_string(), "3");
        assert_eq!(range(0, 3).to_string(), "0-3");
    }

    #[test]
    fn bad_forms_say_what_is_expected() {
        for bad in [
            "",
            "-",
            "a-b",
            "1-",
            "-2",
            "1-2-3",
            "+1",
            "1.5",
            "0x2",
            "99999999999",
        ] {
            let err = parse_range(bad).unwrap_err();
            assert!(
                err.contains("inclusive range such as \"0-3\""),
                "{bad:?}: {err}"
            );
        }
    }

    #[test]
    fn a_reversed_range_suggests_the_right_order() {
        let err = parse_range("3-1").unwrap_err();
        assert!(err.contains("\"1-3\""), "{err}");
    }

    #[test]
    fn the_last_id_must_be_below_the_count() {
        assert_eq!(check_fits(range(0, 3), 4), Ok(()));
        let err = check_fits(range(0, 4), 4).unwrap_err();
        assert!(err.contains("shard 4 does not exist"), "{err}");
        assert!(err.contains("from 0 to 3"), "{err}");
    }

    #[test]
    fn without_a_range_every_shard_runs() {
        let sharding = Sharding {
            count: ShardCount::Fixed(4),
            range: None,
        };
        assert_eq!(
            sharding.plan(None),
            Ok(ShardPlan {
                range: range(0, 3),
                total: 4
            })
        );
    }

    #[test]
    fn auto_uses_the_recommended_count_and_checks_the_range_against_it() {
        let auto = |r| Sharding {
            count: ShardCount::Auto,
            range: r,
        };
        assert_eq!(
            auto(None).plan(Some(2)),
            Ok(ShardPlan {
                range: range(0, 1),
                total: 2
            })
        );
        assert_eq!(auto(Some(range(1, 1))).plan(Some(2)).unwrap().total, 2);
        let err = auto(Some(range(2, 3))).plan(Some(2)).unwrap_err();
        assert!(err.contains("discord.shards = \"2-3\""), "{err}");
        assert!(err.contains("2 shard(s) Discord recommends"), "{err}");
        assert!(auto(None).plan(None).is_err());
        assert!(auto(None).plan(Some(0)).is_err());
    }

    #[test]
    fn a_guilds_shard_follows_discords_rule() {
        assert_eq!(shard_of(0, 4), 0);
        assert_eq!(shard_of(3 << 22, 4), 3);
        assert_eq!(shard_of((5 << 22) | 0x3039, 4), 1);
        assert_eq!(shard_of(1_170_000_000_000_000_001, 1), 0);
    }
}
