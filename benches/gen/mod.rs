//! Synthetic, deterministic benchmark data shared by the benches: a news vocabulary with
//! Zipf-like popularity, subscriptions drawn from it, 1-2 KB news items, and RSS / Atom /
//! JSON Feed documents built from those items.
//!
//! Everything is seeded, so two runs (and the Rust and Python sides of a comparison) see the
//! same data.

#![allow(
    dead_code,
    reason = "each bench binary uses a different part of the generator"
)]

use std::fmt::Write as _;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// The most popular terms: real names and topics from news, in rough popularity order. The
/// long tail after them is made of pronounceable synthetic words (half of them capitalised
/// like names), so a 1M-subscription set has hundreds of thousands of distinct terms.
const HEAD: &[&str] = &[
    "Trump",
    "AI",
    "Ukraine",
    "Apple",
    "Google",
    "Microsoft",
    "Tesla",
    "Meta",
    "Amazon",
    "OpenAI",
    "Nvidia",
    "bitcoin",
    "Israel",
    "Gaza",
    "China",
    "Russia",
    "election",
    "inflation",
    "climate",
    "Biden",
    "Musk",
    "Gemini",
    "ChatGPT",
    "iPhone",
    "Android",
    "Samsung",
    "Netflix",
    "Disney",
    "Boeing",
    "Intel",
    "AMD",
    "SpaceX",
    "NASA",
    "Fed",
    "tariffs",
    "recession",
    "earthquake",
    "hurricane",
    "wildfire",
    "flood",
    "vaccine",
    "covid",
    "cancer",
    "Facebook",
    "Instagram",
    "TikTok",
    "YouTube",
    "Twitter",
    "Reddit",
    "Spotify",
    "Uber",
    "Airbnb",
    "Zelensky",
    "Putin",
    "Xi",
    "Modi",
    "Macron",
    "Starmer",
    "Sunak",
    "Scholz",
    "Merkel",
    "NATO",
    "EU",
    "UN",
    "WHO",
    "Ethereum",
    "crypto",
    "blockchain",
    "startup",
    "layoffs",
    "IPO",
    "merger",
    "acquisition",
    "lawsuit",
    "antitrust",
    "privacy",
    "cybersecurity",
    "ransomware",
    "hack",
    "outage",
    "Linux",
    "Windows",
    "macOS",
    "Rust",
    "Python",
    "JavaScript",
    "Kubernetes",
    "AWS",
    "Azure",
    "Oracle",
    "IBM",
    "Salesforce",
    "Adobe",
    "Qualcomm",
    "Arm",
    "TSMC",
    "Huawei",
    "Xiaomi",
    "Sony",
    "Nintendo",
    "PlayStation",
    "Xbox",
    "Valve",
    "Steam",
    "Epic",
    "Fortnite",
    "Minecraft",
    "Roblox",
    "Formula",
    "Ferrari",
    "Mercedes",
    "Toyota",
    "Volkswagen",
    "BMW",
    "Ford",
    "GM",
    "Rivian",
    "Lucid",
    "BYD",
    "Stellantis",
    "Renault",
    "Airbus",
    "Ryanair",
    "Lufthansa",
    "Delta",
    "United",
    "football",
    "soccer",
    "tennis",
    "cricket",
    "basketball",
    "baseball",
    "Olympics",
    "Wimbledon",
    "Messi",
    "Ronaldo",
    "Liverpool",
    "Arsenal",
    "Chelsea",
    "Barcelona",
    "Madrid",
    "Juventus",
    "Bayern",
    "PSG",
    "NBA",
    "NFL",
    "MLB",
    "NHL",
    "FIFA",
    "UEFA",
    "Paris",
    "London",
    "Berlin",
    "Tokyo",
    "Beijing",
    "Moscow",
    "Kyiv",
    "Washington",
    "California",
    "Texas",
    "Florida",
    "Nestlé",
    "Unilever",
    "Pfizer",
    "Moderna",
    "AstraZeneca",
    "Novartis",
    "Roche",
    "Bayer",
    "Shell",
    "BP",
    "Exxon",
    "Chevron",
    "OPEC",
    "oil",
    "gas",
    "solar",
    "nuclear",
    "hydrogen",
    "battery",
    "lithium",
    "semiconductor",
    "chip",
    "quantum",
    "robotics",
    "drone",
    "satellite",
    "rocket",
    "Mars",
    "Moon",
    "asteroid",
    "telescope",
    "Webb",
    "Hubble",
    "physics",
    "biology",
    "genome",
    "CRISPR",
    "Alzheimer",
    "diabetes",
    "obesity",
    "Ozempic",
    "Wegovy",
    "mpox",
    "measles",
    "strike",
    "union",
    "wages",
    "housing",
    "mortgage",
    "rent",
    "stocks",
    "bonds",
    "dollar",
    "euro",
    "yen",
    "gold",
    "Goldman",
    "JPMorgan",
    "BlackRock",
    "Berkshire",
    "Buffett",
    "Dimon",
    "Powell",
    "Lagarde",
    "Yellen",
    "Harris",
    "Vance",
    "Newsom",
    "DeSantis",
    "Congress",
    "Senate",
    "Supreme",
    "court",
    "verdict",
    "trial",
    "police",
    "protest",
    "refugees",
    "migration",
    "border",
    "visa",
    "Brexit",
    "Scotland",
    "Ireland",
    "Canada",
    "Mexico",
    "Brazil",
    "Argentina",
    "India",
    "Pakistan",
    "Japan",
    "Korea",
    "Taiwan",
    "Iran",
    "Syria",
    "Lebanon",
    "Yemen",
    "Sudan",
    "Africa",
    "Nigeria",
    "Kenya",
    "Egypt",
    "Turkey",
    "Greece",
    "Italy",
    "Spain",
    "Poland",
    "Sweden",
    "Norway",
    "Finland",
    "Denmark",
    "Netherlands",
    "Belgium",
    "Switzerland",
    "Austria",
    "horoscope",
];

/// Words every English text is full of; they carry no subscription and make the items read
/// (and scan) like prose.
const FUNCTION_WORDS: &[&str] = &[
    "the",
    "of",
    "and",
    "to",
    "a",
    "in",
    "is",
    "that",
    "for",
    "it",
    "as",
    "was",
    "with",
    "be",
    "by",
    "on",
    "not",
    "he",
    "this",
    "are",
    "or",
    "his",
    "from",
    "at",
    "which",
    "but",
    "have",
    "an",
    "had",
    "they",
    "you",
    "were",
    "their",
    "one",
    "all",
    "we",
    "can",
    "her",
    "has",
    "there",
    "been",
    "if",
    "more",
    "when",
    "will",
    "would",
    "who",
    "so",
    "no",
    "said",
    "after",
    "new",
    "also",
    "year",
    "people",
    "company",
    "report",
    "week",
    "officials",
    "according",
    "plans",
    "announced",
    "market",
    "government",
    "percent",
    "million",
    "billion",
    "first",
    "last",
    "could",
    "about",
    "over",
    "into",
    "than",
    "its",
    "our",
    "up",
    "out",
    "what",
    "some",
    "other",
];

const SYLLABLES: &[&str] = &[
    "ka", "lo", "ri", "ven", "tor", "mi", "sa", "del", "bra", "quin", "zo", "pha", "ne", "lu",
    "gar", "tes", "ob", "ny", "cor", "vi", "dra", "mel", "so", "tan", "ex", "ul", "pri", "mo",
    "ste", "fa", "jin", "wu", "ha", "re", "bo", "ci", "den", "gal", "hor", "is",
];

/// How steeply news items favour popular terms: an item's topical words are drawn with
/// probability proportional to 1 / rank^`ITEM_ZIPF_EXPONENT`. Flatter than the subscriptions'
/// 1 / rank, because news covers a far wider spread of topics than members pick as keywords
/// (with the same exponent, nearly every item would name a top-10 term and match several
/// per cent of all subscriptions; see BENCHMARKS.md "Synthetic data").
const ITEM_ZIPF_EXPONENT: f64 = 0.8;

/// A vocabulary of `size` terms ranked by popularity. Subscriptions sample it with Zipf
/// weights (probability of rank r proportional to 1 / r); items sample it with the flatter
/// [`ITEM_ZIPF_EXPONENT`].
pub struct Vocabulary {
    words: Vec<String>,
    /// Cumulative weights, for sampling by binary search.
    cumulative: Vec<f64>,
    /// The same ranking with the items' flatter weights.
    item_cumulative: Vec<f64>,
    /// Two-word names and topics (`"Google Cloud"`), also Zipf-ranked.
    phrases: Vec<String>,
    phrase_cumulative: Vec<f64>,
    phrase_item_cumulative: Vec<f64>,
}

impl Vocabulary {
    pub fn new(size: usize, seed: u64) -> Self {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut words: Vec<String> = HEAD.iter().map(|w| (*w).to_string()).collect();
        // Function words never become vocabulary terms: a subscription to `more` (a possible
        // syllable word) would match almost every item.
        let mut known: std::collections::HashSet<String> = words
            .iter()
            .map(|w| w.to_lowercase())
            .chain(FUNCTION_WORDS.iter().map(|w| (*w).to_string()))
            .collect();
        while words.len() < size {
            let syllables = rng.gen_range(2..=4);
            let mut word: String = (0..syllables)
                .map(|_| SYLLABLES[rng.gen_range(0..SYLLABLES.len())])
                .collect();
            if !known.insert(word.clone()) {
                continue;
            }
            if rng.gen_bool(0.5) {
                word = capitalise(&word);
            }
            words.push(word);
        }
        words.truncate(size);
        let cumulative = zipf_cumulative(words.len(), 1.0);
        let item_cumulative = zipf_cumulative(words.len(), ITEM_ZIPF_EXPONENT);
        let phrase_count = (size / 5).max(10);
        let phrases: Vec<String> = (0..phrase_count)
            .map(|_| {
                let a = sample(&cumulative, &mut rng);
                let b = sample(&cumulative, &mut rng);
                format!("{} {}", words[a], words[b])
            })
            .collect();
        let phrase_cumulative = zipf_cumulative(phrases.len(), 1.0);
        let phrase_item_cumulative = zipf_cumulative(phrases.len(), ITEM_ZIPF_EXPONENT);
        Self {
            words,
            cumulative,
            item_cumulative,
            phrases,
            phrase_cumulative,
            phrase_item_cumulative,
        }
    }

    /// A term as members pick keywords (Zipf, exponent 1).
    pub fn word(&self, rng: &mut StdRng) -> &str {
        &self.words[sample(&self.cumulative, rng)]
    }

    /// A phrase as members pick keywords (Zipf, exponent 1).
    pub fn phrase(&self, rng: &mut StdRng) -> &str {
        &self.phrases[sample(&self.phrase_cumulative, rng)]
    }

    /// A term as news items mention topics (flatter Zipf).
    pub fn item_word(&self, rng: &mut StdRng) -> &str {
        &self.words[sample(&self.item_cumulative, rng)]
    }

    /// A phrase as news items mention topics (flatter Zipf).
    pub fn item_phrase(&self, rng: &mut StdRng) -> &str {
        &self.phrases[sample(&self.phrase_item_cumulative, rng)]
    }

    pub fn len(&self) -> usize {
        self.words.len()
    }
}

fn capitalise(word: &str) -> String {
    let mut chars = word.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_uppercase().chain(chars).collect()
    })
}

fn zipf_cumulative(n: usize, exponent: f64) -> Vec<f64> {
    let mut total = 0.0;
    (1..=n)
        .map(|rank| {
            total += (rank as f64).powf(-exponent);
            total
        })
        .collect()
}

fn sample(cumulative: &[f64], rng: &mut StdRng) -> usize {
    let total = cumulative.last().copied().unwrap_or(0.0);
    let x = rng.gen_range(0.0..total);
    cumulative
        .partition_point(|&c| c < x)
        .min(cumulative.len() - 1)
}

/// One generated subscription.
pub struct GeneratedSubscription {
    pub member: usize,
    pub query: String,
}

/// `count` subscriptions from `count / 10` members: ~70% single words, ~20% phrases, ~10%
/// with OR, an exclusion, or `title:` (and the odd prefix).
pub fn subscriptions(vocab: &Vocabulary, count: usize, seed: u64) -> Vec<GeneratedSubscription> {
    let mut rng = StdRng::seed_from_u64(seed);
    let members = (count / 10).max(1);
    (0..count)
        .map(|_| {
            let roll: f64 = rng.gen();
            let query = if roll < 0.70 {
                vocab.word(&mut rng).to_string()
            } else if roll < 0.90 {
                format!("\"{}\"", vocab.phrase(&mut rng))
            } else {
                match rng.gen_range(0..5) {
                    0 => format!("{} OR {}", vocab.word(&mut rng), vocab.word(&mut rng)),
                    1 => format!("{} -{}", vocab.word(&mut rng), vocab.word(&mut rng)),
                    2 => format!("title:{}", vocab.word(&mut rng)),
                    3 => format!("{} {}", vocab.word(&mut rng), vocab.word(&mut rng)),
                    _ => {
                        let word = vocab.word(&mut rng);
                        let stem: String = word.chars().take(4).collect();
                        if stem.chars().count() >= 3 {
                            format!("{stem}*")
                        } else {
                            word.to_string()
                        }
                    }
                }
            };
            GeneratedSubscription {
                member: rng.gen_range(0..members),
                query,
            }
        })
        .collect()
}

/// The second workload (issue 16): `count` subscriptions whose phrases and exclusions use the
/// most common words of the items' text (the function words every item is made of), as
/// members write `"X market"` or `A OR B -shares`: ~50% single words, ~20% a phrase of a topic
/// and a common word, ~15% `A OR B -common`, ~15% `A -common`. A popular word in a phrase or
/// an exclusion must not make an item's cost grow with the number of subscriptions.
pub fn subscriptions_common(
    vocab: &Vocabulary,
    count: usize,
    seed: u64,
) -> Vec<GeneratedSubscription> {
    let mut rng = StdRng::seed_from_u64(seed);
    let members = (count / 10).max(1);
    // The commonest few: every item has each of them many times.
    let common = &FUNCTION_WORDS[..12.min(FUNCTION_WORDS.len())];
    (0..count)
        .map(|_| {
            let roll: f64 = rng.gen();
            let word = common[rng.gen_range(0..common.len())];
            let query = if roll < 0.50 {
                vocab.word(&mut rng).to_string()
            } else if roll < 0.70 {
                format!("\"{} {word}\"", vocab.word(&mut rng))
            } else if roll < 0.85 {
                format!(
                    "{} OR {} -{word}",
                    vocab.word(&mut rng),
                    vocab.word(&mut rng)
                )
            } else {
                format!("{} -{word}", vocab.word(&mut rng))
            };
            GeneratedSubscription {
                member: rng.gen_range(0..members),
                query,
            }
        })
        .collect()
}

/// One generated news item.
#[derive(Clone)]
pub struct Item {
    pub title: String,
    /// The summary / description: plain prose of 1-2 KB with the odd link.
    pub body: String,
}

/// `count` items, each about a handful of topics: 3-8 distinct vocabulary terms (and, for
/// half of them, one two-word phrase) drawn with the items' flatter Zipf weights. The 6-12 word
/// headline names one or two of them; the 1-2 KB summary is prose of function words that
/// mentions the topics again (about one word in twelve), sentences end with `.`, and the odd
/// one holds a link. So an item matches the subscriptions to its few topics, not a share of
/// all subscriptions.
pub fn items(vocab: &Vocabulary, count: usize, seed: u64) -> Vec<Item> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..count)
        .map(|_| {
            let mut topics: Vec<&str> = Vec::new();
            for _ in 0..rng.gen_range(3..=8) {
                let word = vocab.item_word(&mut rng);
                if !topics.contains(&word) {
                    topics.push(word);
                }
            }
            if rng.gen_bool(0.5) {
                topics.push(vocab.item_phrase(&mut rng));
            }
            let title_words = rng.gen_range(6..=12);
            let named: Vec<usize> = (0..rng.gen_range(1..=2))
                .map(|_| rng.gen_range(0..title_words))
                .collect();
            let mut title = String::new();
            for i in 0..title_words {
                if i > 0 {
                    title.push(' ');
                }
                if named.contains(&i) {
                    title.push_str(topics[rng.gen_range(0..topics.len())]);
                } else {
                    title.push_str(function_word(&mut rng));
                }
            }
            let target = rng.gen_range(1000..=2000);
            let mut body = String::with_capacity(target + 200);
            while body.len() < target {
                let words = rng.gen_range(8..=22);
                for i in 0..words {
                    if i > 0 {
                        body.push(if rng.gen_bool(0.06) { ',' } else { ' ' });
                        if body.ends_with(',') {
                            body.push(' ');
                        }
                    }
                    if rng.gen_bool(0.08) {
                        body.push_str(topics[rng.gen_range(0..topics.len())]);
                    } else if rng.gen_bool(0.005) {
                        let _ = write!(body, "https://example.com/news/{}", rng.gen::<u32>());
                    } else {
                        body.push_str(function_word(&mut rng));
                    }
                }
                body.push_str(". ");
            }
            Item { title, body }
        })
        .collect()
}

fn function_word(rng: &mut StdRng) -> &'static str {
    FUNCTION_WORDS[rng.gen_range(0..FUNCTION_WORDS.len())]
}

/// The three feed formats newshound reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Rss,
    Atom,
    JsonFeed,
}

impl Format {
    pub fn extension(self) -> &'static str {
        match self {
            Format::Rss => "rss.xml",
            Format::Atom => "atom.xml",
            Format::JsonFeed => "feed.json",
        }
    }
}

/// A real-world-shaped feed of about `target_bytes`: channel metadata, then items with guid,
/// link (with tracking parameters), date, categories, an HTML description (entities, `<p>`,
/// `<a>`, an image), and for RSS a `media:thumbnail` and `content:encoded`. Returns the
/// document and its number of items.
pub fn feed(format: Format, items: &[Item], target_bytes: usize) -> (String, usize) {
    let mut out = String::with_capacity(target_bytes + 4096);
    let mut entries = Vec::new();
    let mut used = 0;
    let header_len = 600;
    let mut estimated = header_len;
    while estimated < target_bytes {
        let item = &items[used % items.len()];
        let entry = entry(format, item, used);
        estimated += entry.len() + 2;
        entries.push(entry);
        used += 1;
    }
    match format {
        Format::Rss => {
            out.push_str(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rss version=\"2.0\" \
                 xmlns:content=\"http://purl.org/rss/1.0/modules/content/\" \
                 xmlns:media=\"http://search.yahoo.com/mrss/\" \
                 xmlns:dc=\"http://purl.org/dc/elements/1.1/\">\n<channel>\n\
                 <title>The Daily Bench</title>\n<link>https://news.example.com/</link>\n\
                 <description>All the news that fits in a benchmark</description>\n\
                 <language>en-gb</language>\n<lastBuildDate>Mon, 02 Jun 2025 10:00:00 +0000</lastBuildDate>\n\
                 <ttl>15</ttl>\n",
            );
            for e in &entries {
                out.push_str(e);
            }
            out.push_str("</channel>\n</rss>\n");
        }
        Format::Atom => {
            out.push_str(
                "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\" \
                 xml:lang=\"en\">\n<title>The Daily Bench</title>\n<id>tag:news.example.com,2025:feed</id>\n\
                 <link rel=\"alternate\" href=\"https://news.example.com/\"/>\n\
                 <link rel=\"self\" href=\"https://news.example.com/atom.xml\"/>\n\
                 <updated>2025-06-02T10:00:00Z</updated>\n<author><name>Bench Desk</name></author>\n",
            );
            for e in &entries {
                out.push_str(e);
            }
            out.push_str("</feed>\n");
        }
        Format::JsonFeed => {
            out.push_str(
                "{\"version\":\"https://jsonfeed.org/version/1.1\",\"title\":\"The Daily Bench\",\
                 \"home_page_url\":\"https://news.example.com/\",\
                 \"feed_url\":\"https://news.example.com/feed.json\",\"language\":\"en\",\"items\":[\n",
            );
            out.push_str(&entries.join(",\n"));
            out.push_str("\n]}\n");
        }
    }
    (out, used)
}

fn entry(format: Format, item: &Item, n: usize) -> String {
    let day = 1 + n % 28;
    let hour = n % 24;
    let minute = (n * 7) % 60;
    let slug = n * 7919 % 1_000_003;
    let link = format!(
        "https://news.example.com/2025/06/{day:02}/story-{slug}?utm_source=rss&amp;utm_medium=feed"
    );
    let middle = (0..=item.body.len() / 2)
        .rev()
        .find(|&i| item.body.is_char_boundary(i))
        .unwrap_or(0);
    let (first, rest) = item.body.split_at(middle);
    let html = format!(
        "<p>{first} &amp; <a href=\"https://news.example.com/tag/{n}\">more</a></p>\
         <p><img src=\"https://img.example.com/{slug}.jpg\" alt=\"\"/>{rest} &#8230;&nbsp;&mdash;</p>"
    );
    match format {
        Format::Rss => {
            let escaped = escape_xml(&html);
            format!(
                "<item>\n<title>{title}</title>\n<link>{link}</link>\n\
                 <guid isPermaLink=\"false\">bench-{n}</guid>\n\
                 <pubDate>Mon, {day:02} Jun 2025 {hour:02}:{minute:02}:00 +0000</pubDate>\n\
                 <dc:creator>Staff Reporter</dc:creator>\n<category>World</category><category>Tech</category>\n\
                 <description>{escaped}</description>\n\
                 <content:encoded><![CDATA[{html}]]></content:encoded>\n\
                 <media:thumbnail url=\"https://img.example.com/{slug}-thumb.jpg\" width=\"240\" height=\"135\"/>\n\
                 </item>\n",
                title = escape_xml(&item.title),
            )
        }
        Format::Atom => {
            let escaped = escape_xml(&html);
            format!(
                "<entry>\n<title type=\"html\">{title}</title>\n\
                 <link rel=\"alternate\" type=\"text/html\" href=\"{link}\"/>\n\
                 <id>tag:news.example.com,2025:{n}</id>\n\
                 <published>2025-06-{day:02}T{hour:02}:{minute:02}:00Z</published>\n\
                 <updated>2025-06-{day:02}T{hour:02}:{minute:02}:00Z</updated>\n\
                 <author><name>Staff Reporter</name></author>\n\
                 <category term=\"World\"/><category term=\"Tech\"/>\n\
                 <summary type=\"html\">{escaped}</summary>\n</entry>\n",
                title = escape_xml(&item.title),
            )
        }
        Format::JsonFeed => {
            let link = link.replace("&amp;", "&");
            format!(
                "{{\"id\":\"bench-{n}\",\"url\":{link},\"title\":{title},\
                 \"content_html\":{html},\"date_published\":\"2025-06-{day:02}T{hour:02}:{minute:02}:00Z\",\
                 \"authors\":[{{\"name\":\"Staff Reporter\"}}],\"tags\":[\"World\",\"Tech\"],\
                 \"image\":\"https://img.example.com/{slug}.jpg\"}}",
                link = json_string(&link),
                title = json_string(&item.title),
                html = json_string(&html),
            )
        }
    }
}

fn escape_xml(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn json_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
