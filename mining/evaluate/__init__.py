"""Golden-set evaluation: candidate answers, checks, scores that punish wrong answers, comparisons."""
