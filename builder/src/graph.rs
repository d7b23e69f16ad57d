//! The derivation graph: closure, topological order, paths and pictures.
//!
//! Derivations refer to their inputs by id, so a graph is just a map from id
//! to derivation. A cycle is impossible by construction (an id hashes its
//! inputs' ids), but a graph assembled by hand could miss an input; every
//! walk here reports that instead of panicking.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt::Write as _;

use crate::drv::{Derivation, DrvId};

/// A set of derivations closed under inputs (checked by [`Graph::new`]).
#[derive(Debug, Clone, Default)]
pub struct Graph {
    drvs: BTreeMap<DrvId, Derivation>,
}

/// A derivation names an input the graph does not hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("derivation {name} ({id}) names input `{role}` = {missing}, which is not in the graph")]
pub struct MissingInput {
    pub id: DrvId,
    pub name: String,
    pub role: String,
    pub missing: DrvId,
}

impl Graph {
    pub fn new(drvs: BTreeMap<DrvId, Derivation>) -> Result<Graph, MissingInput> {
        for (id, d) in &drvs {
            for (role, input) in &d.inputs {
                if !drvs.contains_key(input) {
                    return Err(MissingInput {
                        id: *id,
                        name: d.name.clone(),
                        role: role.clone(),
                        missing: *input,
                    });
                }
            }
        }
        Ok(Graph { drvs })
    }

    pub fn get(&self, id: &DrvId) -> Option<&Derivation> {
        self.drvs.get(id)
    }

    pub fn len(&self) -> usize {
        self.drvs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.drvs.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&DrvId, &Derivation)> {
        self.drvs.iter()
    }

    /// `roots` and everything they depend on.
    pub fn closure(&self, roots: &[DrvId]) -> BTreeSet<DrvId> {
        let mut seen = BTreeSet::new();
        let mut stack: Vec<DrvId> = roots.to_vec();
        while let Some(id) = stack.pop() {
            if seen.insert(id)
                && let Some(d) = self.drvs.get(&id)
            {
                stack.extend(d.inputs.values().copied());
            }
        }
        seen
    }

    /// The members of `set` in an order where inputs come first; ties broken
    /// by id so the order is the same everywhere.
    pub fn topo_order(&self, set: &BTreeSet<DrvId>) -> Vec<DrvId> {
        let mut indegree: BTreeMap<DrvId, usize> = BTreeMap::new();
        let mut users: BTreeMap<DrvId, Vec<DrvId>> = BTreeMap::new();
        for id in set {
            let d = &self.drvs[id];
            let deps: BTreeSet<_> = d.inputs.values().filter(|i| set.contains(*i)).collect();
            indegree.insert(*id, deps.len());
            for dep in deps {
                users.entry(*dep).or_default().push(*id);
            }
        }
        let mut ready: BTreeSet<DrvId> = indegree
            .iter()
            .filter(|(_, n)| **n == 0)
            .map(|(id, _)| *id)
            .collect();
        let mut order = Vec::with_capacity(set.len());
        while let Some(id) = ready.pop_first() {
            order.push(id);
            for u in users.get(&id).map(Vec::as_slice).unwrap_or_default() {
                let n = indegree.get_mut(u).expect("user is in set");
                *n -= 1;
                if *n == 0 {
                    ready.insert(*u);
                }
            }
        }
        order
    }

    /// Derivations that take `id` as an input.
    pub fn dependents(&self, id: &DrvId) -> Vec<DrvId> {
        self.drvs
            .iter()
            .filter(|(_, d)| d.inputs.values().any(|i| i == id))
            .map(|(k, _)| *k)
            .collect()
    }

    /// A shortest chain `from → … → to` following inputs, if `from` depends on `to`.
    pub fn why_depends(&self, from: &DrvId, to: &DrvId) -> Option<Vec<DrvId>> {
        let mut prev: BTreeMap<DrvId, DrvId> = BTreeMap::new();
        let mut queue = VecDeque::from([*from]);
        let mut seen = BTreeSet::from([*from]);
        while let Some(id) = queue.pop_front() {
            if id == *to {
                let mut path = vec![id];
                let mut cur = id;
                while let Some(p) = prev.get(&cur) {
                    path.push(*p);
                    cur = *p;
                }
                path.reverse();
                return Some(path);
            }
            if let Some(d) = self.drvs.get(&id) {
                for i in d.inputs.values() {
                    if seen.insert(*i) {
                        prev.insert(*i, id);
                        queue.push_back(*i);
                    }
                }
            }
        }
        None
    }

    /// Graphviz DOT: one node per derivation (name and kind), edges from a
    /// derivation to its inputs labelled with the role. `clusters` groups
    /// nodes into boxes (e.g. per target); ids are emitted in sorted order so
    /// the text is stable.
    pub fn to_dot(&self, clusters: &BTreeMap<String, BTreeSet<DrvId>>) -> String {
        let mut s = String::from(
            "digraph hlb {\n  rankdir=LR;\n  node [shape=box, style=rounded, fontname=\"sans-serif\"];\n",
        );
        let node = |id: &DrvId| format!("\"{}\"", id.short());
        let mut placed = BTreeSet::new();
        for (i, (label, members)) in clusters.iter().enumerate() {
            let _ = writeln!(
                s,
                "  subgraph cluster_{i} {{\n    label=\"{}\";",
                escape(label)
            );
            for id in members {
                if let Some(d) = self.drvs.get(id)
                    && placed.insert(*id)
                {
                    let _ = writeln!(
                        s,
                        "    {} [label=\"{}\\n{}\"];",
                        node(id),
                        escape(&d.name),
                        escape(&d.kind)
                    );
                }
            }
            s.push_str("  }\n");
        }
        for (id, d) in &self.drvs {
            if placed.insert(*id) {
                let _ = writeln!(
                    s,
                    "  {} [label=\"{}\\n{}\"];",
                    node(id),
                    escape(&d.name),
                    escape(&d.kind)
                );
            }
        }
        for (id, d) in &self.drvs {
            for (role, input) in &d.inputs {
                let _ = writeln!(
                    s,
                    "  {} -> {} [label=\"{}\"];",
                    node(id),
                    node(input),
                    escape(role)
                );
            }
        }
        s.push_str("}\n");
        s
    }
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drv::Value;

    fn drv(name: &str, inputs: &[(&str, DrvId)]) -> Derivation {
        Derivation {
            kind: "file".into(),
            name: name.into(),
            builder_version: 1,
            params: Value::Null,
            inputs: inputs.iter().map(|(r, i)| (r.to_string(), *i)).collect(),
            sources: BTreeMap::new(),
            fixed_output: None,
            secret: false,
        }
    }

    fn diamond() -> (Graph, [DrvId; 4]) {
        let a = drv("a", &[]);
        let ai = a.id();
        let b = drv("b", &[("src", ai)]);
        let c = drv("c", &[("src", ai)]);
        let (bi, ci) = (b.id(), c.id());
        let d = drv("d", &[("left", bi), ("right", ci)]);
        let di = d.id();
        let g = Graph::new([(ai, a), (bi, b), (ci, c), (di, d)].into_iter().collect()).unwrap();
        (g, [ai, bi, ci, di])
    }

    #[test]
    fn topo_puts_inputs_first() {
        let (g, [a, b, c, d]) = diamond();
        let order = g.topo_order(&g.closure(&[d]));
        let pos = |x| order.iter().position(|y| *y == x).unwrap();
        assert_eq!(order.len(), 4);
        assert!(pos(a) < pos(b) && pos(a) < pos(c) && pos(b) < pos(d) && pos(c) < pos(d));
        assert_eq!(g.closure(&[b]), BTreeSet::from([a, b]));
    }

    #[test]
    fn why_depends_finds_a_chain() {
        let (g, [a, b, _, d]) = diamond();
        let path = g.why_depends(&d, &a).unwrap();
        assert_eq!(path.len(), 3);
        assert_eq!(path[0], d);
        assert_eq!(path[2], a);
        assert!(g.why_depends(&b, &d).is_none());
    }

    #[test]
    fn missing_inputs_are_reported() {
        let b = drv("b", &[("src", DrvId::of(b"nothing"))]);
        let err = Graph::new([(b.id(), b)].into_iter().collect()).unwrap_err();
        assert_eq!(err.role, "src");
    }

    #[test]
    fn dot_is_stable_and_mentions_every_edge() {
        let (g, [_, _, _, d]) = diamond();
        let dot = g.to_dot(&BTreeMap::from([("lab".to_string(), BTreeSet::from([d]))]));
        assert_eq!(
            dot,
            g.to_dot(&BTreeMap::from([("lab".to_string(), BTreeSet::from([d]))]))
        );
        assert_eq!(dot.matches(" -> ").count(), 4);
        assert!(dot.contains("subgraph cluster_0"));
    }
}
