//! Salvaging a damaged XML feed: when a document is cut off (a connection dropped, a size cap
//! hit, a server that died mid-write) or its markup breaks partway, keep every complete item
//! before the damage, drop the broken tail, and close what was still open so feed-rs reads it.
//!
//! An item is kept only if its end tag was reached before the damage, so an item whose guid or
//! link was cut never comes out looking whole (a cut link would alert as a new item).

use crate::sources::cleanup::{Tag, Tags};

/// A document cut back to its last complete item that still parses.
#[derive(Debug)]
pub(crate) struct Salvaged<T> {
    /// What the parser made of [`Salvaged::document`].
    pub value: T,
    /// The document up to the end of the last kept item, with the end tags of the elements
    /// still open there (`</channel></rss>`, `</feed>`) appended.
    pub document: String,
    /// How many complete items the document kept.
    pub kept: usize,
}

/// A place where an item ends cleanly, and what is open around it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct CutPoint<'a> {
    /// Byte offset just past the item's end tag (or its self-closing tag).
    at: usize,
    /// The elements open there, outermost first.
    open: Vec<&'a str>,
    /// How many items end at or before this point.
    items: usize,
}

/// Cuts `xml` back to the longest run of complete leading items that `parses` accepts, or
/// `None` when no item before the damage is complete (then the caller reports the error).
///
/// `parses` is the real parser: damage our tag scan does not see (an attribute the parser
/// refuses) is found by it. Parsing a prefix that ends with a later item accepts every
/// shorter one too, so a binary search needs only log2(items) parses.
pub(crate) fn salvage<T>(xml: &str, parses: impl Fn(&str) -> Option<T>) -> Option<Salvaged<T>> {
    let points = cut_points(xml);
    let (mut low, mut high) = (0, points.len());
    let mut best = None;
    // Invariant: points[..low] are known to parse (up to `best`), points[high..] do not.
    while low < high {
        let middle = low + (high - low) / 2;
        let document = closed_prefix(xml, &points[middle]);
        match parses(&document) {
            Some(value) => {
                best = Some(Salvaged {
                    value,
                    document,
                    kept: points[middle].items,
                });
                low = middle + 1;
            }
            None => high = middle,
        }
    }
    best
}

/// `xml` up to `point`, then the end tags of the elements open there, innermost first.
fn closed_prefix(xml: &str, point: &CutPoint<'_>) -> String {
    let mut document = String::with_capacity(point.at + 64);
    document.push_str(&xml[..point.at]);
    for name in point.open.iter().rev() {
        document.push_str("</");
        document.push_str(name);
        document.push('>');
    }
    document
}

fn is_item(name: &str) -> bool {
    let local = name.rsplit_once(':').map_or(name, |(_, local)| local);
    matches!(local, "item" | "entry")
}

/// Every place where a top-level item (`<item>` or `<entry>` not inside another) ends, up
/// to the first damage our tag scan sees: an end tag that closes the wrong element, a stray
/// end tag, or markup that never ends. Nothing after the damage is trusted.
///
/// A document cut off outside any item (in `</channel>`, or in the channel's own elements
/// after the last item) also gets a last point where the cut is: every item is complete.
fn cut_points(xml: &str) -> Vec<CutPoint<'_>> {
    let mut open: Vec<&str> = Vec::new();
    let mut points = Vec::new();
    let mut tags = Tags::new(xml);
    let mut last_markup_end = 0;
    let mut cut_off = true;
    while let Some((_, tag)) = tags.next() {
        let item_ended = match tag {
            Tag::Start {
                name,
                self_closing: false,
                ..
            } => {
                open.push(name);
                false
            }
            Tag::Start { name, .. } => is_item(name),
            Tag::End { name } => match open.pop() {
                Some(expected) if expected == name => is_item(name),
                _ => {
                    cut_off = false;
                    break;
                }
            },
            Tag::Unterminated { .. } => break,
        };
        last_markup_end = tags.position();
        if item_ended && !open.iter().any(|name| is_item(name)) {
            points.push(CutPoint {
                at: last_markup_end,
                open: open.clone(),
                items: points.len() + 1,
            });
        }
    }
    let after_last_item = points.last().map_or(0, |p| p.at);
    let outside_items = !open.iter().any(|name| is_item(name));
    if cut_off && !open.is_empty() && outside_items && last_markup_end > after_last_item {
        points.push(CutPoint {
            at: last_markup_end,
            open,
            items: points.len(),
        });
    }
    points
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stand-in parser: accepts a document whose tags balance, and counts its items.
    fn balanced(document: &str) -> Option<usize> {
        crate::sources::cleanup::first_structure_error(document)
            .is_none()
            .then(|| document.matches("</item>").count())
    }

    #[test]
    fn cut_off_document_keeps_the_complete_items_and_closes_the_rest() {
        let xml = "<rss><channel><title>T</title><item><guid>a</guid></item>\
                   <item><guid>b</guid></item><item><guid>https://cut.exa";
        let salvaged = salvage(xml, balanced).expect("two items are complete");
        assert_eq!(salvaged.kept, 2);
        assert_eq!(salvaged.value, 2);
        assert_eq!(
            salvaged.document,
            "<rss><channel><title>T</title><item><guid>a</guid></item>\
             <item><guid>b</guid></item></channel></rss>"
        );
    }

    #[test]
    fn a_cut_after_the_last_item_keeps_every_item_and_the_channel() {
        let xml = "<rss><channel><title>T</title><item><guid>a</guid></item><ttl>5</ttl></chan";
        let salvaged = salvage(xml, balanced).expect("the item is complete");
        assert_eq!(salvaged.kept, 1);
        assert_eq!(
            salvaged.document,
            "<rss><channel><title>T</title><item><guid>a</guid></item><ttl>5</ttl></channel></rss>"
        );
        // Cut in the final end tag, with no items at all: the channel is still read.
        let salvaged = salvage("<feed><title>T</title></feed", balanced).expect("complete");
        assert_eq!(
            (salvaged.kept, salvaged.document.as_str()),
            (0, "<feed><title>T</title></feed>")
        );
    }

    #[test]
    fn items_after_broken_markup_are_dropped() {
        let xml =
            "<feed><entry><id>1</id></entry><entry><id>2</entry><entry><id>3</id></entry></feed>";
        let points = cut_points(xml);
        assert_eq!(points.len(), 1);
        assert_eq!(points[0].open, ["feed"]);
    }

    #[test]
    fn nothing_is_salvaged_when_the_first_item_is_cut() {
        let xml = "<rss><channel><item><title>Half a ti";
        assert!(salvage(xml, balanced).is_none());
    }

    #[test]
    fn damage_only_the_parser_sees_is_found_by_searching() {
        // The parser refuses any document containing item "c": items a and b are kept.
        let xml = "<rss><channel><item>a</item><item>b</item><item>c</item><item>d</item>";
        let salvaged = salvage(xml, |d| (!d.contains(">c<")).then_some(())).expect("a and b");
        assert_eq!(salvaged.kept, 2);
    }

    #[test]
    fn nested_entries_and_self_closing_items_count_once() {
        let xml =
            "<rdf:RDF><channel/><item rdf:about=\"x\"/><item><source><entry/></source></item>";
        let points = cut_points(xml);
        assert_eq!(points.iter().map(|p| p.items).collect::<Vec<_>>(), [1, 2]);
        assert_eq!(points[1].open, ["rdf:RDF"]);
    }
}
