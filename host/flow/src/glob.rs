//! weft's one glob matcher: `*` any run of characters (none too), `?` any one
//! character, anything else itself; the whole text must match. It picks the
//! pool of a model (`auto_assign.by_model`), the plugins and models a tenant
//! may use (`capabilities`), and the dead letters of `weft dlq` by run id.

/// Whether all of `text` matches `glob` (characters, not bytes: `?` is one
/// character however many bytes it takes).
pub fn glob_match(glob: &str, text: &str) -> bool {
    let (g, t): (Vec<char>, Vec<char>) = (glob.chars().collect(), text.chars().collect());
    // Iterative matching with one back-track point: the last `*` seen and the
    // text position it was tried at. Linear in practice, never exponential.
    let (mut gi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match g.get(gi) {
            Some('*') => {
                star = Some((gi, ti));
                gi += 1;
            }
            Some(&c) if c == '?' || c == t[ti] => {
                gi += 1;
                ti += 1;
            }
            _ => match star {
                Some((sg, st)) => {
                    gi = sg + 1;
                    ti = st + 1;
                    star = Some((sg, st + 1));
                }
                None => return false,
            },
        }
    }
    g[gi..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::glob_match;

    #[test]
    fn a_star_matches_any_run_and_a_question_mark_one_character() {
        // Pools: `auto_assign.by_model` globs over model names.
        assert!(glob_match("local-*", "local-llama"));
        assert!(glob_match("gpt-?o", "gpt-4o"));
        assert!(!glob_match("gpt-*", "claude-3"));
        // Capabilities: plugin and model globs.
        assert!(glob_match("gpt-4o*", "gpt-4o-mini"));
        assert!(glob_match("gpt-4o*", "gpt-4o"));
        assert!(!glob_match("gpt-4o*", "gpt-4"));
        assert!(glob_match("*-model", "mock-model"));
        assert!(glob_match("a?c", "abc"));
        assert!(!glob_match("a?c", "ac"));
        assert!(!glob_match("a?c", "abbc"));
        // Back-tracking over several stars.
        assert!(glob_match("a*b*c", "axxbyyc"));
        assert!(!glob_match("a*b*c", "axxbyy"));
        assert!(glob_match("*a*", "banana"));
        assert!(glob_match("**", "x"));
        // Dead letters: globs over run ids.
        assert!(glob_match("demo-2026-11-22-*", "demo-2026-11-22-004-x7m"));
        assert!(!glob_match("demo-2026-11-22-*", "demo-2026-11-23-001-abc"));
    }

    #[test]
    fn without_wildcards_the_whole_text_must_be_equal() {
        assert!(glob_match("prompt", "prompt"));
        assert!(!glob_match("prompt", "prompts"));
        assert!(!glob_match("prompts", "prompt"));
        assert!(!glob_match("Prompt", "prompt"));
        assert!(glob_match("*", ""));
        assert!(glob_match("", ""));
        assert!(!glob_match("", "x"));
        assert!(!glob_match("?", ""));
    }

    #[test]
    fn a_question_mark_is_one_character_not_one_byte() {
        assert!(glob_match("caf?", "café"));
        assert!(glob_match("?", "é"));
        assert!(!glob_match("??", "é"));
    }
}
