//! Which dead letters `weft dlq requeue` and `weft dlq purge` act on (a task
//! id, a run id or a glob over run ids, or `--all`), and the question the
//! purge asks on a terminal.

use std::io::{BufRead, Write};

use anyhow::{Result, bail};
use weft_store_api::DeadLetter;

use super::state::find_dead_letter;

/// What was named: one task by id, or every task whose run matches a glob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Target {
    /// A task id: exactly that task.
    Task(u64),
    /// A run id or a glob over run ids (`*`, `?`).
    Runs(String),
    /// `--all` without a target: every dead letter.
    Everything,
}

impl Target {
    /// The target `text` names (`None`: `--all` must be given).
    pub(crate) fn parse(text: Option<&str>, all: bool, command: &str) -> Result<Self> {
        match text.map(str::trim).filter(|t| !t.is_empty()) {
            Some(t) if t.chars().all(|c| c.is_ascii_digit()) => match t.parse() {
                Ok(task) => Ok(Self::Task(task)),
                Err(_) => bail!("`{t}` is not a task id"),
            },
            Some(t) => Ok(Self::Runs(t.to_owned())),
            None if all => Ok(Self::Everything),
            None => bail!(
                "name what to {command}: a task id (see `weft dlq ls`), a run id, a glob over \
                 run ids such as 'p1-*', or --all for every dead-lettered task"
            ),
        }
    }

    /// Whether the user named one task (the JSON output is then one object).
    pub(crate) fn is_one_task(&self) -> bool {
        matches!(self, Self::Task(_))
    }
}

/// The dead letters of `dead` that `target` names; `place` names where they
/// are, for errors. A target that names nothing is an error; so is one that
/// names more than one task when `many_needs_all` and not `all`.
pub(crate) fn select(
    dead: Vec<DeadLetter>,
    target: &Target,
    all: bool,
    many_needs_all: bool,
    place: &str,
    command: &str,
) -> Result<Vec<DeadLetter>> {
    let glob = match target {
        Target::Task(task) => return Ok(vec![find_dead_letter(dead, *task, place)?]),
        Target::Everything => return Ok(dead),
        Target::Runs(glob) => glob,
    };
    let runs: Vec<String> = dead.iter().map(|d| d.run.clone()).collect();
    let chosen: Vec<DeadLetter> = dead
        .into_iter()
        .filter(|d| weft_flow::glob_match(glob, &d.run))
        .collect();
    if chosen.is_empty() {
        let hint = if runs.is_empty() {
            "; the dead-letter queue is empty".to_owned()
        } else {
            let mut runs = runs;
            runs.sort();
            runs.dedup();
            format!("; runs with dead-lettered tasks: {}", runs.join(", "))
        };
        bail!("no dead-lettered task of a run matching `{glob}` in {place}{hint}");
    }
    if chosen.len() > 1 && many_needs_all && !all {
        bail!(
            "`{glob}` matches {} dead-lettered tasks ({}); add --all to {command} every one",
            chosen.len(),
            list(&chosen)
        );
    }
    Ok(chosen)
}

/// `task 3 (run r, step a), …` for messages, the first ten.
pub(crate) fn list(dead: &[DeadLetter]) -> String {
    let mut shown: Vec<String> = dead
        .iter()
        .take(10)
        .map(|d| format!("task {} (run {}, step `{}`)", d.task, d.run, d.step))
        .collect();
    if dead.len() > 10 {
        shown.push(format!("and {} more", dead.len() - 10));
    }
    shown.join(", ")
}

/// Asks on `out` whether to purge `dead` and reads the answer from `input`:
/// only `y` or `yes` (any case) says yes.
pub(crate) fn confirm_purge(
    dead: &[DeadLetter],
    input: &mut impl BufRead,
    out: &mut impl Write,
) -> Result<bool> {
    let what = match dead.len() {
        1 => "1 dead-lettered task".to_owned(),
        n => format!("{n} dead-lettered tasks"),
    };
    writeln!(out, "purging drops {what} for good: {}", list(dead))?;
    write!(out, "their steps will never run. Purge? [y/N] ")?;
    out.flush()?;
    let mut answer = String::new();
    input.read_line(&mut answer)?;
    let answer = answer.trim().to_ascii_lowercase();
    Ok(answer == "y" || answer == "yes")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "a test should fail loudly")]

    use weft_store_api::DeadLetter;

    use super::{Target, confirm_purge, select};

    fn letter(task: u64, run: &str) -> DeadLetter {
        DeadLetter {
            task,
            run: run.into(),
            step: "a".into(),
            reason: "boom".into(),
            time_ms: task,
        }
    }

    fn dead() -> Vec<DeadLetter> {
        vec![letter(1, "p1-a"), letter(2, "p1-b"), letter(3, "p2-c")]
    }

    fn tasks(found: &[DeadLetter]) -> Vec<u64> {
        found.iter().map(|d| d.task).collect()
    }

    #[test]
    fn a_task_id_a_run_id_or_a_glob_names_dead_letters() {
        let t = |text: &str| Target::parse(Some(text), false, "requeue").unwrap();
        assert_eq!(t("2"), Target::Task(2));
        assert_eq!(t("p1-*"), Target::Runs("p1-*".into()));
        assert_eq!(
            Target::parse(None, true, "requeue").unwrap(),
            Target::Everything
        );
        let none = Target::parse(None, false, "requeue").unwrap_err();
        assert!(none.to_string().contains("--all"), "{none}");

        let pick = |target: &Target, all| select(dead(), target, all, true, "here", "requeue");
        assert_eq!(tasks(&pick(&t("2"), false).unwrap()), [2]);
        assert_eq!(tasks(&pick(&t("p2-c"), false).unwrap()), [3]);
        assert_eq!(tasks(&pick(&t("p1-*"), true).unwrap()), [1, 2]);
        assert_eq!(tasks(&pick(&Target::Everything, true).unwrap()), [1, 2, 3]);
        let many = pick(&t("p1-*"), false).unwrap_err().to_string();
        assert!(many.contains("matches 2 dead-lettered tasks"), "{many}");
        assert!(many.contains("add --all"), "{many}");
        let nothing = pick(&t("p9-*"), true).unwrap_err().to_string();
        assert!(nothing.contains("p1-a, p1-b, p2-c"), "{nothing}");
        // A purge needs no --all for a glob: it asks, or takes --yes.
        let purge = select(dead(), &t("p1-*"), false, false, "here", "purge").unwrap();
        assert_eq!(tasks(&purge), [1, 2]);
    }

    #[test]
    fn the_purge_question_takes_only_yes_for_an_answer() {
        let ask = |answer: &str| {
            let mut out = Vec::new();
            let yes = confirm_purge(&dead(), &mut answer.as_bytes(), &mut out).unwrap();
            (yes, String::from_utf8(out).unwrap())
        };
        let (yes, asked) = ask("y\n");
        assert!(yes);
        assert!(
            asked.contains("purging drops 3 dead-lettered tasks"),
            "{asked}"
        );
        assert!(asked.contains("task 1 (run p1-a, step `a`)"), "{asked}");
        assert!(asked.ends_with("Purge? [y/N] "), "{asked}");
        assert!(ask("YES\n").0);
        assert!(!ask("\n").0);
        assert!(!ask("no\n").0);
        assert!(!ask("").0);
    }
}
