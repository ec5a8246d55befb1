"""Step cues for segmentation: what headings are called and words typical of each step. Each is a feature
of the learned step model (``step_model``), which weighs it against the words of real answers.
Rubric-independent, so ``segment`` needs no rubric."""

from __future__ import annotations

import re
from typing import Final

__all__ = ["HEADING_CUES", "CONTENT_CUES", "HEADING_VOCABULARY"]

# (regex on the lower-cased heading, weight). The heading goes to the step with the highest total.
HEADING_CUES: Final[dict[str, list[tuple[re.Pattern[str], float]]]] = {
    step: [(re.compile(p), w) for p, w in cues]
    for step, cues in {
        "requirements": [
            (r"requirement", 2), (r"clarif", 2), (r"questions?\b", 1), (r"\bscop(e|ing)\b", 2),
            (r"business (goal|objective|context|requirement)", 2), (r"\bgoals?\b", 1),
            (r"constraint", 1.5), (r"assumption", 1.5), (r"use[- ]?cases?", 1.5),
            (r"problem (statement|understanding|space)", 2), (r"understand", 1),
            (r"\bscale (and|&|/) (constraint|requirement|latency)", 1), (r"functional", 1.5),
            (r"\bobjectives?\b", 0.5), (r"\bbackground\b|\bcontext\b", 0.5),
        ],
        "framing": [
            (r"fram(e|ing)\b", 2.5), (r"formulat", 2.5), (r"\bml (task|problem|objective|formulation|category)", 2.5),
            (r"machine learning (task|problem|objective)", 2.5), (r"input.{0,8}output", 2),
            (r"problem definition", 2), (r"\btask\b", 1), (r"\bapproach\b", 0.75),
            (r"\bml objective", 2), (r"high[- ]level (approach|ml)", 1.5),
            (r"\b(pose|posing|cast|casting|turn|turning|treat|treating)\b.*\b(ml|machine learning)\b", 2.5),
        ],
        "data": [
            (r"\bdata\b", 1.5), (r"dataset", 2), (r"feature", 2), (r"\blabel", 2), (r"preprocess", 2),
            (r"\betl\b", 2), (r"\bsignals?\b", 1.5), (r"annotat", 2), (r"training data", 2.5),
            (r"data (pipeline|preparation|collection|engineering|sources?)", 1.5), (r"embedding features", 1),
            (r"ground truth", 2),
        ],
        "modeling": [
            (r"\bmodel", 1.5), (r"\btrain", 1.5), (r"architecture", 1), (r"algorithm", 1.5), (r"\bloss\b", 1.5),
            (r"baseline", 1.5), (r"candidate generation|retrieval stage|\branking\b|\branker\b", 1),
            (r"model(l)?ing", 1.5), (r"neural|network design", 1),
        ],
        "evaluation": [
            (r"evaluat", 2.5), (r"metric", 2.5), (r"experiment", 2), (r"\ba/?b\b", 2), (r"testing", 1),
            (r"\btests?\b", 1), (r"validat", 1.5), (r"measur", 1.5), (r"success criteria", 1.5),
            (r"offline (eval|metric|test)", 1), (r"online (eval|metric|test|experiment)", 1),
        ],
        "serving": [
            (r"deploy", 2.5), (r"\bserv(e|ing)\b", 2.5), (r"inference", 2), (r"production", 1.5),
            (r"prediction (service|pipeline|path)", 2.5), (r"launch", 1.5), (r"roll[- ]?out", 2),
            (r"system (design|architecture)", 1.5), (r"architecture", 0.75), (r"latency", 1),
            (r"\bapi\b", 1), (r"online (prediction|serving)", 1),
        ],
        "monitoring": [
            (r"monitor", 2.5), (r"maintenance|maintain", 2), (r"infra", 2), (r"\bscaling\b|scalab", 2),
            (r"logging", 1.5), (r"retrain", 2), (r"observab", 2), (r"alert", 1.5), (r"drift", 2),
            (r"iterat", 1), (r"mlops|operations", 1.5), (r"feedback loop", 1.5), (r"continu", 1),
            (r"health", 1.5), (r"running it|in production over time|day[- ]2", 1.5),
        ],
    }.items()
}

# Words of heading vocabulary, for forgiving typos in headings ("Evalution", "Monitorng").
HEADING_VOCABULARY: Final[dict[str, str]] = {
    "requirements": "requirements", "clarifying": "requirements", "clarification": "requirements",
    "framing": "framing", "formulation": "framing",
    "features": "data", "preprocessing": "data", "dataset": "data", "labels": "data", "labeling": "data",
    "modeling": "modeling", "modelling": "modeling", "training": "modeling", "architecture": "modeling",
    "evaluation": "evaluation", "metrics": "evaluation", "experimentation": "evaluation",
    "deployment": "serving", "serving": "serving", "inference": "serving", "production": "serving",
    "monitoring": "monitoring", "maintenance": "monitoring", "infrastructure": "monitoring",
    "scaling": "monitoring", "observability": "monitoring",
}

# Words typical of each step in running text: (regex on lower-cased text, weight).
CONTENT_CUES: Final[dict[str, list[tuple[re.Pattern[str], float]]]] = {
    step: [(re.compile(p), w) for p, w in cues]
    for step, cues in {
        "requirements": [
            (r"\bclarif|\bask\b|\bassum|\bscope\b|\bconstraint", 1.0),
            (r"\b(daily|monthly) active|\bdau\b|\bmau\b|\bqps\b|requests? per second|per day\b", 1.0),
            (r"\bmillions?\b|\bbillions?\b", 0.6), (r"business (goal|objective)|\bobjective is\b|\bgoal is\b", 0.8),
            (r"\bprivacy|\bgdpr\b|\bcompliance|\bbudget\b", 0.6), (r"\brequire", 0.6),
            (r"\bsupport (for|of)?|\bfeatures? (should|must|to support)", 0.3),
        ],
        "framing": [
            (r"\bframe|\bframing|\bformulat", 1.2), (r"\bclassification\b|\bclassifier\b|\bregression\b", 0.6),
            (r"\bbinary\b|\bmulti-?(class|label|task)\b", 0.5), (r"learning[- ]to[- ]rank|\bpointwise|\bpairwise|\blistwise", 0.6),
            (r"\binputs?\b|\boutputs?\b", 0.6), (r"\bml (objective|task|problem)|\bobjective\b", 0.6),
            (r"\bpredict(s|ing)? (the )?(probability|whether|likelihood)", 0.6),
            (r"representation learning|\bdetection problem|\branking problem", 0.6),
        ],
        "data": [
            (r"\bdata(set)?s?\b", 0.5), (r"\blabel", 0.8), (r"\bfeatures?\b|feature engineering", 0.8),
            (r"\bone-?hot|\bbucket|\bnormali[sz]|\bhash(ing)?\b|\bstandardi[sz]", 0.8),
            (r"\bimbalanc|\bundersampl|\boversampl|\bdownsampl", 0.6), (r"feature store|\betl\b|\bpipeline", 0.6),
            (r"\bcollect|\bsources?\b|\blogs?\b|\bannotat|\braters?\b|\bmissing values?", 0.5),
            (r"\bembeddings?\b|\btokeni[sz]", 0.3),
        ],
        "modeling": [
            (r"\bmodels?\b", 0.5), (r"\btrain(ed|ing)?\b", 0.6), (r"\bbaseline", 0.8),
            (r"\bloss\b|cross[- ]entropy|\boptimi[sz]er|\blearning rate", 0.9),
            (r"\bneural|\btransformer|\bgbdt|\bxgboost|gradient[- ]boost|logistic regression|\btwo-tower|\bcnn\b|\blayers?\b", 0.8),
            (r"\bhyperparameter|\boverfit|\bregulari[sz]|\bdropout|\bepoch|\bfine-?tun", 0.7),
            (r"negative sampling|\bnegatives\b|distributed training|\barchitecture", 0.6),
        ],
        "evaluation": [
            (r"\bevaluat|\bmetrics?\b", 1.0), (r"\bprecision|\brecall\b|\bauc\b|\bndcg\b|\bmap\b|\bmrr\b|\bf1\b|log[- ]?loss|\baccuracy", 0.9),
            (r"\boffline\b|\bonline\b", 0.4), (r"\ba/?b[- ]test|\bexperiment|\bcontrol group|\bholdout|\bstatistical", 1.0),
            (r"\bctr\b|click[- ]through|\bwatch time|\bengagement|\bconversion", 0.5), (r"\btest set|\bvalidation set", 0.6),
        ],
        "serving": [
            (r"\bdeploy|\bserv(e|ing)\b|\binference\b", 1.0), (r"\blatency|\bms\b|\bmilliseconds?", 0.6),
            (r"\bcach(e|ing)|\bann\b|approximate nearest|\bfaiss|\bindex", 0.6),
            (r"\bcanary|\bshadow|\brollout|\broll out|\bgradual", 0.9), (r"\bbatch prediction|\bonline prediction|\bprecomput", 0.9),
            (r"candidate generation|\bre-?rank|\bfunnel|\bstages?\b", 0.4), (r"\bquantiz|\bdistill|\bprun(e|ing)|\bgpus?\b|\bapi\b", 0.5),
        ],
        "monitoring": [
            (r"\bmonitor", 1.2), (r"\bdrift", 1.0), (r"\balert|\bdashboard|\bon-?call", 0.9),
            (r"\bretrain", 0.9), (r"\blogging\b|\blog (the|every|all)", 0.6), (r"feedback loop", 0.8),
            (r"\bdegrad|\bdata quality|\bscal(e|ing) (out|up)|\bautoscal|\bhorizontal", 0.6),
        ],
    }.items()
}
