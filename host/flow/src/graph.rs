//! The step graph: cycles, topological order, upstream sets. Steps are numbered
//! in file order; `needs[i]` lists the steps step `i` needs.

use std::collections::BTreeSet;

/// Steps and their needs, by index.
pub(crate) struct Graph {
    pub needs: Vec<Vec<usize>>,
}

impl Graph {
    /// Every elementary cycle found by a depth-first walk, once each, as the list
    /// of steps in order of `needs` (the first step is not repeated at the end).
    pub fn cycles(&self) -> Vec<Vec<usize>> {
        #[derive(Clone, Copy, PartialEq)]
        enum Mark {
            New,
            Open,
            Done,
        }
        let n = self.needs.len();
        let mut marks = vec![Mark::New; n];
        let mut found: Vec<Vec<usize>> = Vec::new();
        for root in 0..n {
            if marks[root] != Mark::New {
                continue;
            }
            // Iterative DFS: (node, next edge to look at).
            let mut stack: Vec<(usize, usize)> = vec![(root, 0)];
            marks[root] = Mark::Open;
            while let Some(&mut (node, ref mut edge)) = stack.last_mut() {
                let Some(&next) = self.needs[node].get(*edge) else {
                    marks[node] = Mark::Done;
                    stack.pop();
                    continue;
                };
                *edge += 1;
                match marks.get(next).copied() {
                    Some(Mark::New) => {
                        marks[next] = Mark::Open;
                        stack.push((next, 0));
                    }
                    Some(Mark::Open) => {
                        let start = stack.iter().position(|(s, _)| *s == next).unwrap_or(0);
                        let cycle: Vec<usize> = stack[start..].iter().map(|(s, _)| *s).collect();
                        if !found.iter().any(|c| same_cycle(c, &cycle)) {
                            found.push(cycle);
                        }
                    }
                    _ => {}
                }
            }
        }
        found
    }

    /// Steps in an order where each comes after every step it needs; among steps
    /// that are ready together, file order. `None` if there is a cycle.
    pub fn topo_order(&self) -> Option<Vec<usize>> {
        let n = self.needs.len();
        let mut waiting: Vec<usize> = self.needs.iter().map(Vec::len).collect();
        let dependents = self.dependents();
        let mut order = Vec::with_capacity(n);
        let mut ready: BTreeSet<usize> = (0..n).filter(|i| waiting[*i] == 0).collect();
        while let Some(i) = ready.pop_first() {
            order.push(i);
            for &d in &dependents[i] {
                waiting[d] -= 1;
                if waiting[d] == 0 {
                    ready.insert(d);
                }
            }
        }
        (order.len() == n).then_some(order)
    }

    /// For each step, the steps that need it, in file order.
    pub fn dependents(&self) -> Vec<Vec<usize>> {
        let mut out = vec![Vec::new(); self.needs.len()];
        for (i, needs) in self.needs.iter().enumerate() {
            for &j in needs {
                if let Some(list) = out.get_mut(j)
                    && !list.contains(&i)
                {
                    list.push(i);
                }
            }
        }
        out
    }

    /// Every step that `i` needs, directly or through other steps.
    pub fn upstream(&self, i: usize) -> BTreeSet<usize> {
        let mut seen = BTreeSet::new();
        let mut todo: Vec<usize> = self.needs.get(i).cloned().unwrap_or_default();
        while let Some(j) = todo.pop() {
            if seen.insert(j)
                && let Some(more) = self.needs.get(j)
            {
                todo.extend(more);
            }
        }
        seen
    }
}

fn same_cycle(a: &[usize], b: &[usize]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let Some(first) = b.first() else {
        return a.is_empty();
    };
    match a.iter().position(|x| x == first) {
        Some(offset) => (0..a.len()).all(|k| a[(offset + k) % a.len()] == b[k]),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_cycles_once() {
        // 0 needs 2, 1 needs 0, 2 needs 1; 3 needs 3.
        let g = Graph {
            needs: vec![vec![2], vec![0], vec![1], vec![3]],
        };
        assert_eq!(g.cycles(), vec![vec![0, 2, 1], vec![3]]);
        assert_eq!(g.topo_order(), None);
    }

    #[test]
    fn orders_a_diamond() {
        let g = Graph {
            needs: vec![vec![], vec![0], vec![0], vec![1, 2]],
        };
        assert!(g.cycles().is_empty());
        assert_eq!(g.topo_order(), Some(vec![0, 1, 2, 3]));
        assert_eq!(g.upstream(3), BTreeSet::from([0, 1, 2]));
        assert_eq!(g.dependents()[0], vec![1, 2]);
    }
}
