//! Snapshot tests of alerts as members see them: real-looking feed items (entity soup,
//! WordPress tails, Google News lists, CJK, emoji, 20,000-character content, markdown and
//! mention syntax, images only in the content, title-only items with an article page) through
//! the extractive summary, the content image and the Discord renderer.
//!
//! Each snapshot shows the plain summary and the rendered message payload. Review changes with
//! `cargo insta review` (or `INSTA_UPDATE=always cargo test --test summaries` and `git diff`).

use newshound::core::alert::Alert;
use newshound::core::summary::extractive_summary;
use newshound::discord::render::render_alert;
use newshound::sources::article::{extract_article, feed_image};
use url::Url;

/// The default summary length (`defaults.summary_length`).
const SUMMARY_LENGTH: usize = 300;

/// One feed item as the pipeline would hand it over.
struct Case<'a> {
    title: &'a str,
    link: &'a str,
    summary_html: &'a str,
    content_html: &'a str,
    matched: &'a [&'a str],
    /// The article page, for an item whose feed says too little.
    article_page: Option<&'a str>,
}

impl Default for Case<'_> {
    fn default() -> Self {
        Case {
            title: "",
            link: "https://news.example.com/2026/03/story",
            summary_html: "",
            content_html: "",
            matched: &["Meta"],
            article_page: None,
        }
    }
}

/// The summary and the rendered messages of `case`, as the snapshot shows them.
fn render(case: &Case<'_>) -> String {
    let matched: Vec<String> = case.matched.iter().map(ToString::to_string).collect();
    let link = Url::parse(case.link).ok();
    let mut summary = extractive_summary(case.summary_html, &matched, SUMMARY_LENGTH);
    if summary.is_empty() {
        summary = extractive_summary(case.content_html, &matched, SUMMARY_LENGTH);
    }
    let mut image = feed_image(case.content_html, link.as_ref())
        .or_else(|| feed_image(case.summary_html, link.as_ref()));
    if let (Some(page), Some(url)) = (case.article_page, link.as_ref()) {
        let article = extract_article(page, url);
        if summary.chars().count() < 80 {
            summary = extractive_summary(&article.text, &matched, SUMMARY_LENGTH);
            if summary.is_empty() {
                summary = article.og_description.clone().unwrap_or_default();
            }
        }
        image = image.or(article.image);
    }
    assert!(
        summary.chars().count() <= SUMMARY_LENGTH,
        "summary over budget: {summary}"
    );
    assert!(
        !summary.contains('<') || summary.contains("<@"),
        "HTML debris: {summary}"
    );
    let alert = Alert {
        id: 7,
        source: "Example News".into(),
        title: case.title.into(),
        link: Some(case.link.into()),
        published: None,
        summary: summary.clone(),
        matched,
        subscribers: vec!["123456789012345678".into()],
        target: "998877665544332211".into(),
        image,
        also_of: None,
        also_covered: Vec::new(),
    };
    let messages = render_alert(&alert, 7);
    let payloads: Vec<_> = messages.iter().map(|m| &m.payload).collect();
    format!(
        "--- summary ({} chars)\n{summary}\n--- messages\n{}",
        summary.chars().count(),
        serde_json::to_string_pretty(&payloads).unwrap()
    )
}

macro_rules! snapshot {
    ($name:ident, $case:expr) => {
        #[test]
        fn $name() {
            insta::with_settings!({ omit_expression => true }, {
                insta::assert_snapshot!(stringify!($name), render(&$case));
            });
        }
    };
}

snapshot!(
    entity_heavy_html,
    Case {
        title: "AT&T and Verizon’s “5G” plans",
        summary_html: "<p>AT&amp;T &amp; Verizon&#8217;s &ldquo;5G&rdquo; plans &mdash; priced at \
            &euro;30&nbsp;/month &hellip; caf&eacute; owners in M&uuml;nchen react &amp;#8220;\
            cautiously&amp;#8221;.</p><p>Analysts call it &lt;em&gt;aggressive&lt;/em&gt;.</p>",
        matched: &["Verizon"],
        ..Case::default()
    }
);

snapshot!(
    wordpress_appeared_first_on_tail,
    Case {
        title: "Google Cloud launches new region in Berlin",
        summary_html: "<p>Google Cloud opened its third German region on Tuesday, promising \
            lower latency for customers in the DACH market.</p>\n<p>The post \
            <a href=\"https://techblog.example/gc-berlin\" rel=\"nofollow\">Google Cloud launches \
            new region in Berlin</a> appeared first on <a href=\"https://techblog.example\" \
            rel=\"nofollow\">TechBlog</a>.</p>",
        matched: &["\"Google Cloud\""],
        ..Case::default()
    }
);

snapshot!(
    matched_word_only_in_fourth_paragraph,
    Case {
        title: "Food makers brace for cocoa shortage",
        content_html: "<p>Cocoa prices hit a record on Monday as poor harvests in West Africa \
            squeezed supply for a third straight season.</p>\
            <p>Traders in London said the market had rarely been this tight, with \
            warehouses holding less than two months of grinding demand.</p>\
            <p>Smaller chocolatiers have already raised prices twice this year, and some \
            have cut the size of their bars instead.</p>\
            <p>Among the large groups, Nestlé said it would pass on part of the cost. \
            Its rivals declined to comment.</p>",
        matched: &["Nestle"],
        ..Case::default()
    }
);

snapshot!(
    emoji_in_text,
    Case {
        title: "🚀 Starship flies again",
        summary_html: "<p>🚀🔥 SpaceX launched Starship from Boca Chica at dawn 🌅, and the \
            booster was caught by the tower again. 👏 Fans lined the beaches 🏖️ to watch; \
            the Meta-owned Threads lit up with videos 📱 within minutes.</p>",
        matched: &["Meta"],
        ..Case::default()
    }
);

snapshot!(
    cjk_text_cut_at_a_character,
    Case {
        title: "東京で新型ロケットの打ち上げを観測",
        summary_html: "<p>宇宙航空研究開発機構は十日、新型ロケットの打ち上げに成功したと発表した。\
            打ち上げは種子島宇宙センターから行われ、東京でも夜空に光の筋が観測された。\
            同機構によると、ロケットは予定の軌道に衛星を投入し、今後は通信実験を始める。\
            関係者は今回の成功が国内の宇宙産業にとって大きな一歩になると話しており、\
            民間企業との協力も拡大する方針だ。次回の打ち上げは来年春を予定している。\
            専門家は費用の削減と打ち上げ頻度の向上が今後の課題になると指摘した。\
            また、周辺の自治体では観光客の増加が見込まれており、経済効果への期待も高まっている。\
            地元の商店街では記念商品の販売が始まり、多くの人でにぎわった。\
            打ち上げの様子はインターネットでも生中継され、視聴者数は過去最多を記録したという。</p>",
        matched: &["東京"],
        ..Case::default()
    }
);

snapshot!(
    chinese_match_after_the_lead,
    Case {
        title: "科技公司发布新一代芯片",
        summary_html: "<p>多家科技公司周二发布了新一代人工智能芯片，称其性能比上一代提升一倍。\
            分析人士认为，这将加剧市场竞争，并推动数据中心的升级换代。\
            业内人士表示，供应链仍然紧张，部分产品可能要到明年才能大规模交付。\
            与此同时，各国监管机构也在密切关注芯片出口和技术转让问题，相关政策可能在年内出台。\
            投资者对此反应积极，相关股票在盘中普遍上涨。\
            一些大型云服务商已经开始测试新芯片，并计划在今年下半年将其部署到主要数据中心，以满足快速增长的模型训练需求。\
            不过，也有观点指出，高昂的能耗和散热成本仍是限制大规模部署的主要因素，企业需要在性能与成本之间寻找平衡。\
            部分地方政府也推出了补贴政策，鼓励本地企业采购国产芯片，并建设新的算力中心。\
            行业协会预计，未来三年全球人工智能芯片市场规模将保持年均百分之三十以上的增长。\
            另据报道，英伟达计划在下月举行的发布会上公布更多细节。</p>",
        matched: &["英伟达"],
        ..Case::default()
    }
);

/// About 20,000 characters of content; the matched word is only in the last paragraph.
fn huge_content() -> String {
    let filler = "<p>The committee heard evidence from regional operators about maintenance \
        backlogs, staffing, and the cost of replacing ageing signalling equipment across the \
        network, which several witnesses described as the most pressing issue.</p>";
    let mut html = String::from(
        "<p>Parliament's transport committee published a 90-page report on rail reliability \
         on Thursday.</p>",
    );
    while html.len() < 19_800 {
        html.push_str(filler);
    }
    html.push_str("<p>In a brief statement, Siemens said it welcomed the report.</p>");
    html
}

#[test]
fn twenty_thousand_character_content() {
    let content = huge_content();
    assert!(content.chars().count() >= 19_800);
    let rendered = render(&Case {
        title: "Rail reliability report calls for signalling overhaul",
        content_html: &content,
        matched: &["Siemens"],
        ..Case::default()
    });
    insta::with_settings!({ omit_expression => true }, {
        insta::assert_snapshot!("twenty_thousand_character_content", rendered);
    });
}

snapshot!(
    markdown_and_mention_syntax,
    Case {
        title: "**BREAKING** @everyone: Meta's _new_ [AI](https://evil.example) <@123> ping",
        summary_html:
            "## Meta ships **Llama 5**\n\nRead the [announcement](https://ai.meta.example/llama5) \
            and ping @here or <@&456> in `#general`. ![logo](https://cdn.example/logo.png) \
            Use *stars* and ~~strikes~~ freely.",
        matched: &["Meta", "Llama"],
        ..Case::default()
    }
);

snapshot!(
    image_only_in_content,
    Case {
        title: "Meta opens its first retail store in London",
        summary_html: "<p>The store in Covent Garden sells Quest headsets and Ray-Ban glasses.</p>",
        content_html:
            "<figure class=\"wp-block-image\"><img src=\"/wp-content/uploads/2026/03/store.jpg\" \
            width=\"1200\" height=\"800\" alt=\"The store\"><figcaption>Photo: Meta</figcaption>\
            </figure><p>The store in Covent Garden sells Quest headsets and Ray-Ban glasses.</p>",
        ..Case::default()
    }
);

snapshot!(
    google_news_list,
    Case {
        title: "Meta in talks to use Google's Gemini for ads - Reuters",
        link: "https://news.google.com/rss/articles/CBMiX2h0dHBz?oc=5",
        summary_html: "<ol><li><a href=\"https://news.google.com/rss/articles/CBMiX2h0dHBz?oc=5\" \
            target=\"_blank\">Meta in talks to use Google's Gemini for ads</a>&nbsp;&nbsp;\
            <font color=\"#6f6f6f\">Reuters</font></li><li><a href=\"https://news.google.com/rss/articles/CBMiY\" \
            target=\"_blank\">Meta weighs Google Gemini models to boost ad targeting</a>&nbsp;&nbsp;\
            <font color=\"#6f6f6f\">The Information</font></li><li><a href=\"https://news.google.com/rss/articles/CBMiZ\" \
            target=\"_blank\">Google shares rise on Meta AI talks report</a>&nbsp;&nbsp;\
            <font color=\"#6f6f6f\">CNBC</font></li></ol>",
        ..Case::default()
    }
);

snapshot!(
    title_only_item,
    Case {
        title: "Meta names new chief AI officer",
        ..Case::default()
    }
);

const ARTICLE_PAGE: &str = r#"<!doctype html>
<html lang="en"><head>
<meta charset="utf-8">
<title>Meta names new chief AI officer | Example News</title>
<meta property="og:title" content="Meta names new chief AI officer">
<meta property="og:description" content="The former Google researcher will lead Meta&#39;s superintelligence lab.">
<meta property="og:image" content="/images/2026/03/meta-ai-chief.jpg">
<meta name="twitter:image" content="https://cdn.example.com/tw.jpg">
</head><body>
<header class="site-header"><nav><ul><li><a href="/">Home</a></li><li><a href="/tech">Tech</a></li>
<li><a href="/business">Business</a></li></ul></nav></header>
<div id="cookie-banner" class="consent"><p>We use cookies to improve your experience, measure audiences, and show you personalised ads. Accept all?</p></div>
<main><article class="story">
<h1>Meta names new chief AI officer</h1>
<p class="byline">By Jane Doe, March 2, 2026</p>
<div class="story-body">
<p>Meta has hired a former Google researcher to run its new superintelligence lab, the company said on Monday, in its latest move to catch up with rivals in the race to build advanced AI systems.</p>
<p>The appointment follows months of recruiting in which Meta offered pay packages worth tens of millions of dollars to engineers at OpenAI, Google and Anthropic, according to people familiar with the matter.</p>
<div class="share-tools"><a href="https://www.facebook.com/sharer/sharer.php?u=x">Share on Facebook</a> <a href="https://twitter.com/intent/tweet?url=x">Tweet</a></div>
<p>Chief executive Mark Zuckerberg said the lab would have access to more computing power than any other team in the industry, and that its first models would ship next year.</p>
</div></article>
<aside class="related"><h2>Related</h2><ul><li><a href="/a">Meta shares rise after earnings beat expectations by a wide margin</a></li><li><a href="/b">Google unveils Gemini 3 with Deep Think reasoning mode for subscribers</a></li></ul></aside>
</main>
<footer class="site-footer"><p>© 2026 Example News. All rights reserved. Terms, privacy, cookie settings, and contact information.</p></footer>
</body></html>"#;

snapshot!(
    title_only_item_with_article_page,
    Case {
        title: "Meta names new chief AI officer",
        link: "https://news.example.com/2026/03/02/meta-ai-chief",
        article_page: Some(ARTICLE_PAGE),
        ..Case::default()
    }
);

snapshot!(
    share_links_and_tracking_pixels,
    Case {
        title: "Meta raises capex forecast again",
        content_html: "<p>Meta lifted its capital spending forecast for the third time this year, \
            citing demand for AI data centres.</p>\
            <div class=\"sharedaddy sd-sharing-enabled\"><h3>Share this:</h3><ul><li>\
            <a href=\"https://blog.example/?share=twitter\">Twitter</a></li><li>\
            <a href=\"https://blog.example/?share=facebook\">Facebook</a></li></ul></div>\
            <p><a href=\"https://www.facebook.com/sharer/sharer.php?u=https%3A%2F%2Fblog.example\">Share on Facebook</a> \
            <a href=\"https://twitter.com/intent/tweet?text=Meta\">Tweet</a></p>\
            <div class=\"feedflare\"><a href=\"http://feeds.feedburner.com/~ff/blog?a=x\">\
            <img src=\"http://feeds.feedburner.com/~ff/blog?d=y\" border=\"0\"></a></div>\
            <img src=\"http://feeds.feedburner.com/~r/blog/~4/abc\" height=\"1\" width=\"1\" alt=\"\"/>\
            <p>Like this:</p><p>Like Loading...</p>",
        ..Case::default()
    }
);

snapshot!(
    continue_reading_link,
    Case {
        title: "Inside Meta's new data centre in Louisiana",
        summary_html: "<p>The Hyperion campus will draw as much power as a mid-sized city when \
            it is finished in 2030.</p><p><a href=\"https://blog.example/hyperion\" \
            class=\"more-link\">Continue reading <span class=\"screen-reader-text\">\
            &#8220;Inside Meta&#8217;s new data centre in Louisiana&#8221;</span> \
            <span class=\"meta-nav\">&rarr;</span></a></p>",
        ..Case::default()
    }
);

snapshot!(
    elided_description_with_bracket_ellipsis,
    Case {
        title: "Meta's AI glasses sell out in Europe",
        summary_html: "Ray-Ban Meta glasses sold out in several European countries within days \
            of the latest software update, which added live translation and a new assistant that \
            can [&#8230;]",
        ..Case::default()
    }
);

snapshot!(
    read_more_tail_and_kept_phrase,
    Case {
        title: "Why investors read more into Meta's guidance",
        summary_html: "<p>Analysts read more into Meta's cautious guidance than into its \
            record quarter. Shares fell 4% after hours. Read more &raquo;</p>",
        ..Case::default()
    }
);

snapshot!(
    html_escaped_twice,
    Case {
        title: "Meta to open-source its speech model",
        summary_html: "&lt;p&gt;Meta will release the weights of its speech model &amp;amp; \
            the training code.&lt;/p&gt;&lt;p&gt;&lt;img src=&quot;https://cdn.example/x.png&quot;&gt;\
            Researchers welcomed the move.&lt;/p&gt;",
        ..Case::default()
    }
);

snapshot!(
    scripts_styles_and_iframes,
    Case {
        title: "Watch: Meta's keynote in 90 seconds",
        content_html: "<style>.video{width:100%}</style><script>window.dataLayer=[];</script>\
            <p>Meta's annual developer conference focused on glasses, the Quest 4 and a new \
            Llama model.</p><iframe src=\"https://www.youtube.com/embed/xyz\" width=\"560\">\
            </iframe><noscript><img src=\"https://pixel.example/t.gif\"></noscript>\
            <p>The full keynote runs to two hours.</p>",
        ..Case::default()
    }
);

snapshot!(
    phrase_match_late_in_one_paragraph,
    Case {
        title: "Cloud spending keeps rising",
        summary_html: "<p>Enterprise cloud spending rose 21% in the first quarter, according to \
            Synergy Research. Amazon Web Services kept its lead with just under a third of the \
            market. Microsoft Azure gained two points of share over the year. Google Cloud, in \
            third place, grew fastest of the big three, helped by demand for its AI \
            accelerators.</p>",
        matched: &["\"Google Cloud\""],
        ..Case::default()
    }
);

snapshot!(
    prefix_term_matches_later_word,
    Case {
        title: "Google releases new open models",
        summary_html: "<p>Google released a family of small open-weight models on Wednesday, \
            aimed at developers building on laptops and phones. The company said the models \
            outperform rivals twice their size on standard benchmarks and come with a permissive \
            licence. The release, branded Gemma 4, includes a 2-billion-parameter version.</p>",
        matched: &["gem*"],
        ..Case::default()
    }
);

snapshot!(
    title_term_accent_folded_in_text,
    Case {
        title: "Nestle recalls baby formula in France",
        summary_html: "<p>French authorities ordered the recall of three batches of infant \
            formula on Friday after tests found traces of a bacterial toxin in a factory sample. \
            Parents were told to return the products to the shop. The maker, Nestlé, said no \
            illnesses had been reported and that it was cooperating fully.</p>",
        matched: &["title:Nestle"],
        ..Case::default()
    }
);

snapshot!(
    matched_sentence_too_long_is_windowed,
    Case {
        title: "Regulators circle Big Tech ad businesses",
        summary_html:
            "<p>Competition authorities on both sides of the Atlantic stepped up scrutiny \
            of digital advertising this week.</p><p>In a sprawling 40-page statement that covered \
            auction mechanics, data sharing between subsidiaries, default settings on mobile \
            operating systems, the pricing of measurement tools, the treatment of independent \
            publishers, and the complaints of several trade groups representing agencies and \
            marketers, the regulator singled out Meta for the way it combines data from \
            Instagram, WhatsApp and Facebook to target ads, and said it would decide on remedies \
            before the end of the year after hearing from all interested parties.</p>",
        ..Case::default()
    }
);

snapshot!(
    abbreviations_do_not_end_sentences,
    Case {
        title: "U.S. regulators question Meta",
        summary_html: "<p>U.S. regulators on Tuesday asked Mr. Zuckerberg to testify about \
            teen safety features. The hearing is set for April. Lawmakers from both parties \
            said they expected answers about Instagram, where researchers found that \
            recommendation systems still pushed harmful content to younger users despite the \
            company's promises. J. Smith, a Meta spokesperson, said the company would cooperate.</p>",
        ..Case::default()
    }
);

snapshot!(
    plain_text_description_with_line_breaks,
    Case {
        title: "Meta outage resolved",
        summary_html: "Facebook, Instagram and WhatsApp were down for about two hours.\n\n\
            Meta blamed a configuration change.\n\nServices have been restored.",
        ..Case::default()
    }
);

snapshot!(
    headings_and_bullet_lists,
    Case {
        title: "Five things to know about Meta's earnings",
        content_html: "<h2>Key takeaways</h2><ul><li>Revenue rose 22% to $48bn.</li>\
            <li>Reality Labs lost $4.5bn.</li><li>Capex guidance was raised again.</li></ul>\
            <p>Meta's shares rose 7% in after-hours trading.</p>",
        ..Case::default()
    }
);

snapshot!(
    emoji_and_inline_data_images_are_skipped,
    Case {
        title: "Meta's Threads hits 400 million users",
        summary_html: "<p><img src=\"https://s.w.org/images/core/emoji/15.0.3/72x72/1f389.png\" \
            class=\"wp-smiley\" alt=\"🎉\"> Threads now has 400 million monthly users.</p>",
        content_html: "<p><img src=\"data:image/gif;base64,R0lGODlhAQABAAAAACw=\">\
            <img src=\"https://cdn.example.com/threads-400m.png\" width=\"640\"> \
            Threads now has 400 million monthly users, Meta said.</p>",
        ..Case::default()
    }
);

snapshot!(
    reddit_post_with_byline_and_link_bar,
    Case {
        title: "Meta's Llama 5 weights leaked on a forum?",
        link: "https://www.reddit.com/r/LocalLLaMA/comments/1abc/meta_llama_5/",
        summary_html: "<!-- SC_OFF --><div class=\"md\"><p>Someone posted what they claim are \
            the Llama 5 weights. Meta hasn't commented yet.</p></div><!-- SC_ON --> &#32; \
            submitted by &#32; <a href=\"https://www.reddit.com/user/someone\"> /u/someone </a> \
            <br/> <span><a href=\"https://example.org/leak\">[link]</a></span> &#32; \
            <span><a href=\"https://www.reddit.com/r/LocalLLaMA/comments/1abc/\">[comments]</a></span>",
        ..Case::default()
    }
);
