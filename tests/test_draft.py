"""Drafted rubrics (issue 16): hand-made answers, properties, the examples and the CLI."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import EXAMPLES
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlsd_grader import Grader, Rubric, load_rubric
from mlsd_grader.cli import cli
from mlsd_grader.draft import MIN_STEP_WEIGHT, draft_rubric
from mlsd_grader.keywords import SectionText
from mlsd_grader.lint import lint_rubric
from mlsd_grader.rubric import parse_rubric_text
from mlsd_grader.steps import STEP_IDS

QUESTION = "Design a system that recommends podcasts to listeners."

ANSWER_ONE = """\
## Requirements
We want listeners to discover podcasts they finish, so the goal is completion rate rather than clicks.
There are about fifty million monthly listeners and a catalogue of two million shows with daily uploads.

## Data
Training examples come from listening sessions, with a positive label when a listener passes half the episode.
Features include the listener's genre affinity, the show's completion rate and the episode's transcript embedding.

## Model
I'd start with logistic regression as a baseline, then train a two-tower model with sampled softmax.
The click-through rate (CTR) is a weak signal here, so completion is the main training objective.

## Evaluation
Offline I'd measure recall at twenty and normalised discounted cumulative gain on held-out sessions.
Online an A/B test compares completion rate and listening minutes per listener over two weeks.
"""

ANSWER_TWO = """\
## Requirements
The business goal is listening minutes and retention of listeners, with a latency budget of 150 milliseconds.
We should also respect licensing limits per region when recommending podcasts.

## Data
Positive labels are episodes a listener completes, negatives are impressions skipped within thirty seconds.
Listener genre affinity and transcript embeddings are the strongest features, next to show popularity.

## Model
A two-tower model retrieves candidates, and a gradient boosted ranker orders them; CTR alone misleads.
Training uses sampled softmax with in-batch negatives and a completion objective.

## Evaluation
We evaluate recall at twenty and normalized discounted cumulative gain offline before any launch.
The A/B test then tracks listening minutes, completion rate and retention as guardrail metrics.
"""


@pytest.fixture(scope="module")
def podcast_draft(fake_grader: Grader):
    return draft_rubric([ANSWER_ONE, ANSWER_TWO], id="podcasts", title="Podcast recommendation",
                        question=QUESTION, grader=fake_grader, sources=["one.md", "two.md"])


def test_draft_is_valid_lint_clean_and_reads_back_from_its_yaml(podcast_draft) -> None:
    text = podcast_draft.to_yaml()
    assert parse_rubric_text(text, source="draft.yaml") == podcast_draft.rubric
    assert lint_rubric(podcast_draft.rubric) == []
    assert [s.id for s in podcast_draft.rubric.steps] == list(STEP_IDS)
    top = [line.split(":")[0] for line in text.splitlines() if line and line[0].isalpha()]
    assert top == ["id", "version", "title", "question", "steps"]  # the format doc's order


def test_draft_is_deterministic(fake_grader: Grader, podcast_draft) -> None:
    again = draft_rubric([ANSWER_ONE, ANSWER_TWO], id="podcasts", title="Podcast recommendation",
                         question=QUESTION, grader=fake_grader, sources=["one.md", "two.md"])
    assert again.to_yaml() == podcast_draft.to_yaml()
    assert again.explain() == podcast_draft.explain()


def test_uncovered_steps_take_the_generic_criteria_marked_as_such(podcast_draft) -> None:
    generic = {s.id: s for s in load_rubric("generic").steps}
    assert set(podcast_draft.uncovered) == {"framing", "serving", "monitoring"}
    for step in podcast_draft.rubric.steps:
        if step.id in podcast_draft.uncovered:
            assert step.criteria == generic[step.id].criteria
            assert step.weight == MIN_STEP_WEIGHT
    text = podcast_draft.to_yaml()
    assert text.count("# from rubrics/generic.yaml: no model answer covers this step") == sum(
        len(generic[s].criteria) for s in podcast_draft.uncovered)
    assert "not covered" in podcast_draft.explain()


def test_criteria_quote_the_answers_and_say_where_from(podcast_draft) -> None:
    drafted = [o for o in podcast_draft.origins if not o.generic]
    assert drafted
    for origin in drafted:
        crit = next(c for s in podcast_draft.rubric.steps for c in s.criteria if c.id == origin.criterion_id)
        assert crit.model_answer == " ".join(s.text for s in origin.sentences)
        assert crit.id.startswith(origin.step + "_")
        assert crit.concepts
        assert crit.description.startswith("Covers ")
    assert "# from one.md line" in podcast_draft.to_yaml()
    # both answers' sentences about data end up in the data step
    data = [o for o in drafted if o.step == "data"]
    assert {s.answer for o in data for s in o.sentences} == {0, 1}


def test_concepts_leave_out_the_question_and_common_words(podcast_draft) -> None:
    names = [c.name for s in podcast_draft.rubric.steps if s.id not in podcast_draft.uncovered
             for crit in s.criteria for c in crit.concepts]
    assert "podcasts" not in names and "recommends" not in names  # said by the question
    assert "listeners" not in names  # the question says "listeners"
    assert not {"the", "we", "should", "data", "model"} & set(names)
    assert "two-tower model" in names or "two-tower" in names


ABBREVIATION = (  # one answer defines CTR, the other only uses it
    ("## Evaluation\nOffline we track the click-through rate (CTR) of every slate of episodes. It is a rough "
     "signal, so we look at it next to what people go on to hear and whether they come back to the app "
     "later in the week.\n"),
    ("## Evaluation\nWe compare CTR across groups of new and older users every week. A change that lifts it "
     "but makes people leave sooner is not one we would want to keep for long.\n"),
)
SPELLING = (  # catalogue in one answer, catalog in the other
    ("## Data\nThe podcast catalogue holds two million shows, and every catalogue entry carries a "
     "transcript embedding and the show's genre.\n"),
    ("## Data\nEach catalog entry is enriched with genre labels, and the catalog is refreshed nightly from "
     "the publisher feeds.\n"),
)


@pytest.mark.parametrize(("answers", "forms", "reason"), [
    (ABBREVIATION, {"ctr", "click-through rate"}, "defined as click-through rate (ctr) in answer 1"),
    (SPELLING, {"catalogue", "catalog"}, "spelt so in answer"),
])
def test_several_answers_naming_one_thing_give_aliases(
    fake_grader: Grader, answers: tuple[str, str], forms: set[str], reason: str
) -> None:
    draft = draft_rubric(list(answers), id="p", title="Podcasts", question=QUESTION, grader=fake_grader)
    concepts = [c for s in draft.rubric.steps for crit in s.criteria for c in crit.concepts]
    found = [c for c in concepts if forms & set(c.phrases)]
    assert found and forms <= set(found[0].phrases)
    assert reason in draft.explain()


def test_step_weights_follow_the_share_of_words(fake_grader: Grader) -> None:
    long_data = ANSWER_ONE.replace(
        "## Model", "Listeners' follows, saves and shares feed the genre affinity too, refreshed hourly in the "
        "feature store. Transcript embeddings are computed once per episode by a sentence encoder. Skips within "
        "thirty seconds are hard negatives, and impressions never seen on screen are dropped.\n\n## Model")
    draft = draft_rubric([long_data], id="p", title="Podcasts", question=QUESTION, grader=fake_grader)
    weights = {s.id: s.weight for s in draft.rubric.steps}
    assert weights["data"] > weights["requirements"]
    assert draft.step_shares["data"] > draft.step_shares["requirements"]
    assert abs(sum(draft.step_shares.values()) - 1.0) < 1e-9


def test_code_blocks_are_left_out(fake_grader: Grader) -> None:
    answer = ANSWER_ONE.replace("## Evaluation", "```python\nmodel = TwoTowerModel(embedding_dim=64)\n"
                                "model.fit(sessions, epochs=3)\n```\n\n## Evaluation")
    draft = draft_rubric([answer], id="p", title="Podcasts", question=QUESTION, grader=fake_grader)
    assert "TwoTowerModel" not in draft.to_yaml()


def test_rubric_draft_is_the_drafted_rubric(fake_grader: Grader, podcast_draft) -> None:
    rubric = Rubric.draft([ANSWER_ONE, ANSWER_TWO], id="podcasts", title="Podcast recommendation",
                          question=QUESTION, grader=fake_grader)
    assert rubric == podcast_draft.rubric


def test_question_defaults_to_the_title(fake_grader: Grader) -> None:
    draft = draft_rubric([ANSWER_ONE], id="p", title="Podcast recommendation", grader=fake_grader)
    assert draft.rubric.question == "Podcast recommendation"


def test_no_answer_text_is_an_error(fake_grader: Grader) -> None:
    with pytest.raises(ValueError):
        draft_rubric(["", "  \n"], id="p", title="P", grader=fake_grader)
    with pytest.raises(ValueError):
        draft_rubric([ANSWER_ONE], id="p", title="P", grader=fake_grader, sources=["a", "b"])


def test_a_draft_grades_its_own_answers_above_an_unrelated_one(fake_grader: Grader, podcast_draft) -> None:
    own = [fake_grader.grade(a, podcast_draft.rubric).score for a in (ANSWER_ONE, ANSWER_TWO)]
    other = fake_grader.grade((EXAMPLES / "visual_search" / "strong.md").read_text(), podcast_draft.rubric).score
    assert min(own) > other


# ---------------------------------------------------------------- properties

POOLS = {
    "requirements": [
        "The goal is to raise weekly bookings of yoga classes without spamming members.",
        "Roughly three million members and forty thousand studios use the app every month.",
        "Recommendations must render within 120 milliseconds on the mobile home screen.",
        "Studios care about filling off-peak slots, which is a second objective worth tracking.",
    ],
    "framing": [
        "I frame it as ranking classes by the predicted probability that a member books them.",
        "The label is a booking within seven days of the impression, a binary classification target.",
        "A pointwise learning-to-rank objective keeps serving simple and calibrated.",
    ],
    "data": [
        "Booking logs, class attendance and cancellations give natural labels for every impression.",
        "Member features include preferred instructors, usual weekday and distance from home.",
        "Class features include intensity, instructor rating and how full the session already is.",
        "Impressions without a scroll into view are dropped to avoid false negatives.",
    ],
    "modeling": [
        "A gradient boosted tree baseline on the tabular features is quick to train and explain.",
        "Later a two-tower network embeds members and classes for retrieval from the whole timetable.",
        "The ranker is trained with binary cross-entropy and negatives sampled from the same week.",
    ],
    "evaluation": [
        "Offline I would compare recall at fifty and area under the precision-recall curve.",
        "An online A/B test measures bookings per member with cancellations as a guardrail metric.",
        "Novelty effects fade after two weeks, so the experiment runs for at least three.",
    ],
    "serving": [
        "Candidate retrieval uses an approximate nearest neighbour index refreshed every night.",
        "The ranker runs on CPU behind a feature cache keyed by member identifier.",
        "A shadow deployment precedes a canary rollout to five percent of members.",
    ],
    "monitoring": [
        "Dashboards track booking rate, latency percentiles and the share of empty recommendation slates.",
        "Feature drift on instructor ratings triggers an alert and a retraining job.",
        "Weekly retraining on fresh bookings counters seasonality around new year resolutions.",
    ],
}
HEADINGS = {"requirements": "Requirements", "framing": "Framing", "data": "Data", "modeling": "Model",
            "evaluation": "Evaluation", "serving": "Serving", "monitoring": "Monitoring"}


@st.composite
def framework_answers(draw: st.DrawFn) -> list[str]:
    """One to three answers, each with a heading per step and two or more of that step's sentences."""
    answers = []
    for _ in range(draw(st.integers(1, 3))):
        parts = []
        for step, pool in POOLS.items():
            picked = draw(st.lists(st.sampled_from(pool), min_size=2, max_size=len(pool), unique=True))
            parts.append(f"## {HEADINGS[step]}\n" + " ".join(picked))
        answers.append("\n\n".join(parts) + "\n")
    return answers


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(answers=framework_answers())
def test_every_drafted_concept_occurs_in_some_model_answer(fake_grader: Grader, answers: list[str]) -> None:
    draft = draft_rubric(answers, id="yoga", title="Yoga class recommendation", grader=fake_grader)
    texts = [SectionText(a, [(0, len(a))]) for a in answers]
    for origin in draft.origins:
        if origin.generic:
            continue
        for concept in origin.concepts:
            crit = next(c for s in draft.rubric.steps for c in s.criteria if c.id == origin.criterion_id)
            phrases = next(c.phrases for c in crit.concepts if c.name == concept.name)
            assert any(t.positive_evidence([p]) for t in texts for p in phrases), concept.name


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(answers=framework_answers())
def test_a_draft_scores_its_own_source_answers_at_least_0_85(fake_grader: Grader, answers: list[str]) -> None:
    draft = draft_rubric(answers, id="yoga", title="Yoga class recommendation", grader=fake_grader)
    assert not draft.uncovered
    for answer in answers:
        assert fake_grader.grade(answer, draft.rubric).score >= 0.85


# ---------------------------------------------------------------- the examples, with the real model

QUESTIONS = sorted(p.name for p in EXAMPLES.iterdir() if (p / "strong.md").is_file())


@pytest.fixture(scope="module")
def example_drafts(real_grader: Grader) -> dict[str, Rubric]:
    out = {}
    for question in QUESTIONS:
        bank = load_rubric(question)
        out[question] = draft_rubric([(EXAMPLES / question / "strong.md").read_text(encoding="utf-8")],
                                     id=f"{question}_draft", title=bank.title, question=bank.question,
                                     grader=real_grader).rubric
    return out


@pytest.mark.integration
@pytest.mark.parametrize("question", QUESTIONS)
def test_draft_from_strong_example_ranks_the_tiers_and_the_questions(
    real_grader: Grader, example_drafts: dict[str, Rubric], question: str
) -> None:
    draft = example_drafts[question]
    assert lint_rubric(draft) == []

    def score(q: str, tier: str) -> float:
        return real_grader.grade((EXAMPLES / q / f"{tier}.md").read_text(encoding="utf-8"), draft).score

    prose, middling, weak = (score(question, t) for t in ("strong_prose", "middling", "weak"))
    assert prose > middling > weak
    others = {q: score(q, "strong_prose") for q in QUESTIONS if q != question}
    assert prose > max(others.values()), others


# ---------------------------------------------------------------- the command line


def test_cli_draft_writes_yaml_that_validates_and_lints(tmp_path: Path) -> None:
    one, two = tmp_path / "one.md", tmp_path / "two.md"
    one.write_text(ANSWER_ONE, encoding="utf-8")
    two.write_text(ANSWER_TWO, encoding="utf-8")
    out = tmp_path / "podcasts.yaml"
    runner = CliRunner()
    args = ["rubrics", "draft", str(one), str(two), "--id", "podcasts", "--title", "Podcast recommendation",
            "--question", QUESTION, "--backend", "none", "-o", str(out)]
    result = runner.invoke(cli, [*args, "--explain"])
    assert result.exit_code == 0, result.output
    assert "from rubrics/generic.yaml" in result.stderr and "concept" in result.stderr
    assert runner.invoke(cli, ["rubrics", "validate", str(out)]).exit_code == 0
    lint = runner.invoke(cli, ["rubrics", "lint", str(out)])
    assert lint.exit_code == 0, lint.output
    first = out.read_bytes()
    assert runner.invoke(cli, args).exit_code == 0
    assert out.read_bytes() == first  # same inputs, same bytes
    printed = runner.invoke(cli, args[:-2])
    assert printed.stdout.encode() == first
    api = draft_rubric([ANSWER_ONE, ANSWER_TWO], id="podcasts", title="Podcast recommendation", question=QUESTION,
                       grader=Grader(load_config_none()), sources=[str(one), str(two)])
    assert api.to_yaml().encode() == first  # one implementation behind the API and the CLI


def load_config_none():
    from mlsd_grader import GraderConfig

    return GraderConfig(backend="none")


def test_cli_draft_needs_id_and_title(tmp_path: Path) -> None:
    answer = tmp_path / "a.md"
    answer.write_text(ANSWER_ONE, encoding="utf-8")
    result = CliRunner().invoke(cli, ["rubrics", "draft", str(answer), "--title", "T"])
    assert result.exit_code == 2
    bad = CliRunner().invoke(cli, ["rubrics", "draft", str(answer), "--id", "Not An Id", "--title", "T",
                                   "--backend", "none"])
    assert bad.exit_code == 1
    assert bad.stderr.startswith("error: invalid rubric draft 'Not An Id': id: String should match pattern")
