//! Orders steps with a petgraph DAG: creation before use (`provides` →
//! `requires`), dependents dropped before what they depend on (`requires`
//! → `removes`). A cycle, or an edge that points to an earlier phase, is a
//! planner bug reported with the steps involved, never a silent reorder.
//! Ties break on (phase, object kind, object, action): deterministic.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};

use petgraph::graph::{DiGraph, NodeIndex};

use super::PlanError;
use super::step::{Resource, Step};

/// The dependency graph of `steps`: node `i` is `steps[i]`, an edge runs
/// from a step to one that must come after it.
fn graph(steps: &[Step]) -> Result<(DiGraph<usize, ()>, Vec<NodeIndex>), PlanError> {
    let mut g: DiGraph<usize, ()> = DiGraph::new();
    let nodes: Vec<NodeIndex> = (0..steps.len()).map(|i| g.add_node(i)).collect();
    let mut providers: BTreeMap<&Resource, Vec<usize>> = BTreeMap::new();
    let mut removers: BTreeMap<&Resource, Vec<usize>> = BTreeMap::new();
    for (i, s) in steps.iter().enumerate() {
        for r in &s.provides {
            providers.entry(r).or_default().push(i);
        }
        for r in &s.removes {
            removers.entry(r).or_default().push(i);
        }
    }
    let add_edge = |g: &mut DiGraph<usize, ()>, a: usize, b: usize| -> Result<(), PlanError> {
        if a == b {
            return Ok(());
        }
        if steps[a].phase > steps[b].phase {
            return Err(PlanError::PhaseInversion {
                before: steps[a].id.to_string(),
                before_phase: steps[a].phase.name(),
                after: steps[b].id.to_string(),
                after_phase: steps[b].phase.name(),
            });
        }
        g.update_edge(nodes[a], nodes[b], ());
        Ok(())
    };
    for (b, s) in steps.iter().enumerate() {
        for r in &s.requires {
            for &a in providers.get(r).into_iter().flatten() {
                add_edge(&mut g, a, b)?;
            }
            // Whatever needs R runs before R is removed, unless it is the
            // step that removes R itself.
            for &rm in removers.get(r).into_iter().flatten() {
                if !s.removes.contains(r) && !s.provides.contains(r) {
                    add_edge(&mut g, b, rm)?;
                }
            }
        }
    }
    Ok((g, nodes))
}

/// Which steps the plan must run before which, through any chain of
/// dependencies.
pub struct Precedence {
    g: DiGraph<usize, ()>,
    nodes: Vec<NodeIndex>,
}

impl Precedence {
    pub fn new(steps: &[Step]) -> Result<Precedence, PlanError> {
        let (g, nodes) = graph(steps)?;
        Ok(Precedence { g, nodes })
    }

    /// Whether `steps[a]` must run before `steps[b]`.
    pub fn before(&self, a: usize, b: usize) -> bool {
        petgraph::algo::has_path_connecting(&self.g, self.nodes[a], self.nodes[b], None)
    }
}

pub fn order(steps: Vec<Step>) -> Result<Vec<Step>, PlanError> {
    let (g, nodes) = graph(&steps)?;
    // Kahn's algorithm with a deterministic priority.
    let key = |i: usize| {
        let s = &steps[i];
        (s.phase, s.id.kind, s.id.object.clone(), s.id.action, i)
    };
    let mut indegree: Vec<usize> = nodes
        .iter()
        .map(|&n| {
            g.neighbors_directed(n, petgraph::Direction::Incoming)
                .count()
        })
        .collect();
    let mut ready: BinaryHeap<Reverse<_>> = (0..steps.len())
        .filter(|&i| indegree[i] == 0)
        .map(|i| Reverse(key(i)))
        .collect();
    let mut order = Vec::with_capacity(steps.len());
    while let Some(Reverse(k)) = ready.pop() {
        let i = k.4;
        order.push(i);
        for n in g.neighbors_directed(nodes[i], petgraph::Direction::Outgoing) {
            let j = g[n];
            indegree[j] -= 1;
            if indegree[j] == 0 {
                ready.push(Reverse(key(j)));
            }
        }
    }
    if order.len() != steps.len() {
        let stuck: Vec<String> = (0..steps.len())
            .filter(|i| !order.contains(i))
            .map(|i| steps[i].id.to_string())
            .collect();
        return Err(PlanError::Cycle { steps: stuck });
    }
    let mut slots: Vec<Option<Step>> = steps.into_iter().map(Some).collect();
    Ok(order.into_iter().filter_map(|i| slots[i].take()).collect())
}
