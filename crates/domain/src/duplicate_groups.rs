//! Duplicate groups of a full scan (issue 13 §2): the pairs of records a company's rules match,
//! joined into groups (connected components: if A matches B and B matches C, the three are one
//! group), each with the rule that joined it — the highest in the company's list among its
//! pairs — and a score, the weakest confidence among the pairs that joined it. Pure; the store
//! finds the pairs (`rivet_store::duplicate_groups`).

use crate::choices::choice_enum;
use crate::permissions::Resource;
use std::collections::HashMap;
use uuid::Uuid;

choice_enum!(
    /// The records a duplicate scan walks and a merge joins.
    DuplicateEntity {
        Leads => "leads",
        Contacts => "contacts",
        Accounts => "accounts",
    }
);

impl DuplicateEntity {
    /// The permission resource of its records.
    pub fn resource(self) -> Resource {
        match self {
            Self::Leads => Resource::Leads,
            Self::Contacts => Resource::Contacts,
            Self::Accounts => Resource::Accounts,
        }
    }
}

choice_enum!(
    /// Whether a group still waits for review.
    GroupStatus {
        Open => "open",
        Dismissed => "dismissed",
    }
);

/// One group found by a scan.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    /// The members, sorted.
    pub members: Vec<Uuid>,
    /// The place in the company's rules (from 0) of the highest rule among its pairs.
    pub rule_index: usize,
    /// The weakest confidence among the pairs that joined the group, 0 to 1.
    pub score: f64,
}

/// Pairs being joined into groups (union-find by rank with path halving).
#[derive(Debug, Default)]
pub struct Grouping {
    index: HashMap<Uuid, usize>,
    ids: Vec<Uuid>,
    parent: Vec<usize>,
    rank: Vec<u8>,
    /// Per root: (rule index, score) of the pairs joined so far.
    best: Vec<(usize, f64)>,
}

impl Grouping {
    pub fn new() -> Self {
        Self::default()
    }

    fn node(&mut self, id: Uuid) -> usize {
        if let Some(n) = self.index.get(&id) {
            return *n;
        }
        let n = self.ids.len();
        self.index.insert(id, n);
        self.ids.push(id);
        self.parent.push(n);
        self.rank.push(0);
        self.best.push((usize::MAX, 1.0));
        n
    }

    fn root(&mut self, mut n: usize) -> usize {
        while self.parent[n] != n {
            self.parent[n] = self.parent[self.parent[n]];
            n = self.parent[n];
        }
        n
    }

    /// `a` and `b` are duplicates by the rule at `rule_index`, `confidence` sure.
    pub fn pair(&mut self, a: Uuid, b: Uuid, rule_index: usize, confidence: f64) {
        if a == b {
            return;
        }
        let (na, nb) = (self.node(a), self.node(b));
        let (ra, rb) = (self.root(na), self.root(nb));
        let merged = |x: (usize, f64), y: (usize, f64)| (x.0.min(y.0), x.1.min(y.1));
        let edge = (rule_index, confidence);
        if ra == rb {
            self.best[ra] = merged(self.best[ra], edge);
            return;
        }
        let (big, small) = if self.rank[ra] >= self.rank[rb] {
            (ra, rb)
        } else {
            (rb, ra)
        };
        self.parent[small] = big;
        if self.rank[big] == self.rank[small] {
            self.rank[big] = self.rank[big].saturating_add(1);
        }
        self.best[big] = merged(merged(self.best[big], self.best[small]), edge);
    }

    /// Every record of `ids` (already sorted or not) matches every other by one rule: a block
    /// of an exact key.
    pub fn block(&mut self, ids: &[Uuid], rule_index: usize) {
        if let Some((first, rest)) = ids.split_first() {
            for other in rest {
                self.pair(*first, *other, rule_index, 1.0);
            }
        }
    }

    /// The groups, surest first (score, then size, then the first member).
    pub fn groups(mut self) -> Vec<Group> {
        let mut by_root: HashMap<usize, Vec<Uuid>> = HashMap::new();
        for n in 0..self.ids.len() {
            let r = self.root(n);
            by_root.entry(r).or_default().push(self.ids[n]);
        }
        let mut groups: Vec<Group> = by_root
            .into_iter()
            .map(|(root, mut members)| {
                members.sort();
                let (rule_index, score) = self.best[root];
                Group {
                    members,
                    rule_index,
                    score,
                }
            })
            .collect();
        groups.sort_by(|a, b| {
            b.score
                .total_cmp(&a.score)
                .then(b.members.len().cmp(&a.members.len()))
                .then(a.members.cmp(&b.members))
        });
        groups
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    #[test]
    fn chained_pairs_make_one_group_with_the_highest_rule_and_weakest_score() {
        let mut g = Grouping::new();
        g.pair(id(1), id(2), 2, 0.95);
        g.pair(id(3), id(2), 0, 1.0);
        g.pair(id(7), id(8), 1, 1.0);
        let groups = g.groups();
        assert_eq!(groups.len(), 2);
        assert_eq!(groups[0].members, [id(7), id(8)]);
        assert_eq!(groups[1].members, [id(1), id(2), id(3)]);
        assert_eq!(groups[1].rule_index, 0);
        assert!((groups[1].score - 0.95).abs() < 1e-9);
    }

    #[test]
    fn a_block_joins_all_its_members_and_a_record_alone_makes_no_group() {
        let mut g = Grouping::new();
        g.block(&[id(5), id(4), id(6)], 1);
        g.block(&[id(9)], 0);
        g.pair(id(4), id(4), 0, 1.0);
        let groups = g.groups();
        assert_eq!(groups.len(), 1);
        assert_eq!(groups[0].members, [id(4), id(5), id(6)]);
        assert_eq!(groups[0].rule_index, 1);
        assert_eq!(groups[0].score, 1.0);
    }

    #[test]
    fn two_groups_joined_later_keep_the_better_rule_and_worse_score() {
        let mut g = Grouping::new();
        g.pair(id(1), id(2), 3, 0.91);
        g.pair(id(3), id(4), 0, 1.0);
        g.pair(id(2), id(3), 1, 0.97);
        let groups = g.groups();
        assert_eq!(groups.len(), 1);
        assert_eq!(groups[0].rule_index, 0);
        assert!((groups[0].score - 0.91).abs() < 1e-9);
    }
}
