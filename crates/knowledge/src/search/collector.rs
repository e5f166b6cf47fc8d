//! The best documents by score among those the access filter lets through, with the filter
//! checked per candidate (a fast field) instead of intersected with the query.
//!
//! Only a document that would enter the current top list is looked at: tantivy passes a
//! document to the collector when its score beats the threshold the collector returns, and
//! with a pure union of term clauses it skips whole blocks that cannot beat it (block-max
//! WAND). An access filter inside the query would instead be evaluated for every matching
//! document, and rule out that skipping.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::sync::Arc;

use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::Column;
use tantivy::query::Weight;
use tantivy::{DocAddress, DocId, Score, SegmentOrdinal, SegmentReader};

/// Decides from a document's access key whether the searcher may see it.
pub(crate) type Allow = Arc<dyn Fn(u64) -> bool + Send + Sync>;

/// The top `limit` documents whose value in the u64 fast field `field` passes `allow`.
pub(crate) struct FilteredTopDocs {
    pub limit: usize,
    pub field: &'static str,
    pub allow: Allow,
}

/// A candidate in the heap: the worst one on top (lowest score; on equal scores the later
/// document, as tantivy's own top list keeps the earlier one).
struct Entry {
    score: Score,
    doc: DocId,
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Entry {
    fn cmp(&self, other: &Self) -> Ordering {
        // Reversed: BinaryHeap is a max-heap, the worst entry must be on top.
        other
            .score
            .total_cmp(&self.score)
            .then_with(|| self.doc.cmp(&other.doc))
    }
}

pub(crate) struct FilteredSegment {
    segment: SegmentOrdinal,
    limit: usize,
    keys: Column<u64>,
    allow: Allow,
    heap: BinaryHeap<Entry>,
}

impl FilteredSegment {
    /// Offers a document; returns the score a document must now beat.
    fn offer(&mut self, doc: DocId, score: Score) -> Score {
        let allowed = self.keys.first(doc).is_some_and(|key| (self.allow)(key));
        if allowed {
            self.heap.push(Entry { score, doc });
            if self.heap.len() > self.limit {
                self.heap.pop();
            }
        }
        self.threshold()
    }

    fn threshold(&self) -> Score {
        match self.heap.peek() {
            Some(worst) if self.heap.len() >= self.limit => worst.score,
            _ => Score::MIN,
        }
    }
}

impl SegmentCollector for FilteredSegment {
    type Fruit = Vec<(Score, DocAddress)>;

    fn collect(&mut self, doc: DocId, score: Score) {
        self.offer(doc, score);
    }

    fn harvest(self) -> Self::Fruit {
        let segment = self.segment;
        self.heap
            .into_iter()
            .map(|e| (e.score, DocAddress::new(segment, e.doc)))
            .collect()
    }
}

impl Collector for FilteredTopDocs {
    type Fruit = Vec<(Score, DocAddress)>;
    type Child = FilteredSegment;

    fn for_segment(
        &self,
        segment: SegmentOrdinal,
        reader: &SegmentReader,
    ) -> tantivy::Result<FilteredSegment> {
        Ok(FilteredSegment {
            segment,
            limit: self.limit.max(1),
            keys: reader.fast_fields().u64(self.field)?,
            allow: self.allow.clone(),
            heap: BinaryHeap::with_capacity(self.limit + 1),
        })
    }

    fn requires_scoring(&self) -> bool {
        true
    }

    fn merge_fruits(
        &self,
        fruits: Vec<Vec<(Score, DocAddress)>>,
    ) -> tantivy::Result<Vec<(Score, DocAddress)>> {
        let mut all: Vec<(Score, DocAddress)> = fruits.into_iter().flatten().collect();
        all.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
        all.truncate(self.limit);
        Ok(all)
    }

    fn collect_segment(
        &self,
        weight: &dyn Weight,
        segment: SegmentOrdinal,
        reader: &SegmentReader,
    ) -> tantivy::Result<Vec<(Score, DocAddress)>> {
        let mut top = self.for_segment(segment, reader)?;
        let alive = reader.alive_bitset();
        weight.for_each_pruning(Score::MIN, reader, &mut |doc, score| {
            if alive.is_some_and(|a| a.is_deleted(doc)) {
                return top.threshold();
            }
            top.offer(doc, score)
        })?;
        Ok(top.harvest())
    }
}

#[cfg(test)]
mod tests {
    use super::Entry;
    use std::collections::BinaryHeap;

    #[test]
    fn the_worst_entry_is_on_top() {
        let mut heap = BinaryHeap::new();
        for (score, doc) in [(2.0, 1), (1.0, 2), (3.0, 3), (1.0, 0)] {
            heap.push(Entry { score, doc });
        }
        let worst = heap.pop().unwrap();
        // Equal lowest scores: the later document goes first.
        assert_eq!((worst.score, worst.doc), (1.0, 2));
        let next = heap.pop().unwrap();
        assert_eq!((next.score, next.doc), (1.0, 0));
    }
}
