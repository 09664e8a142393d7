"""Holdout F: a blind synthetic population of chat-completions API clients.

Written blind: the author did not read the abuse detector, its configuration, its benchmarks, its
documentation, the other holdout harnesses or the repository history. Nothing here was tuned against
the detector; the only thing read from the rest of the repository is the ``ClientPlan`` dataclass of
``cli/simulator.py``. The population is meant to be used once, as a measure of how the detector
generalises to traffic nobody tuned it on.

``chat_holdout_f_population(ordinary, attackers_per_family, seed, scale)`` returns ``ClientPlan``s:
``ordinary`` ordinary clients (the profiles below, in turn) and ``attackers_per_family`` attackers of
each attack family (an attacker that operates a ring of keys is one attacker made of many plans that
share a ``ring`` label). Every choice comes from ``random.Random`` generators seeded from ``seed`` and
the client's name, so the population is deterministic. ``scale`` multiplies every client's request
count; a client's texts at a smaller scale are a prefix of its texts at a larger one, and everything
else about it (name, network, agent, system prompt, ring) is independent of the scale.

Corpora (read at build time, each skipped when missing; hand-written vocabulary in this module keeps
every profile and family working on a bare machine):

* SciPy docstrings, parsed with ``ast`` from the installed sources without importing SciPy:
  ``scipy.stats`` distribution classes, ``scipy.optimize``, ``scipy.signal``, ``scipy.integrate`` and
  ``scipy.interpolate`` functions.
* NumPy docstrings (``fromnumeric``, ``lib._function_base_impl``, ``linalg``, ``fft``), parsed the same way.
* ``torch.nn`` module classes and ``torch.optim`` optimiser classes, parsed the same way.
* mpmath's extended function documentation (``mpmath/function_docs.py``), parsed the same way.
* The ``openai`` SDK's chat types: class and field docstrings (``openai/types/chat`` and the top-level
  ``openai/types`` modules), parsed the same way.
* Matplotlib's ``matplotlibrc`` template: rcParams with their inline comments.
* ``pyarrow.compute`` function documentation (``FunctionDoc`` summaries and descriptions).
* ONNX operator schemas (``onnx.defs.get_all_schemas()``): operator names, domains and docs.
* Kubernetes OpenAPI definitions shipped in ``kubernetes_validate`` (newest ``*-local`` folder,
  ``_definitions.json``): object kinds, field names and field descriptions.
* ``/etc/services`` and ``/etc/protocols`` (service names, ports, comments).
* ``/etc/ssl/certs`` (CA bundle file names, as CA names).
* ``/usr/share/i18n/SUPPORTED`` (locale names).
* Unicode character names (``unicodedata``) for edge-case test data and typography questions.
* Hand-written everyday vocabulary: parenting, DIY repair, car maintenance, music practice, board
  games, sports rules, tenant and small-claims questions, gardening, pets, running, personal
  finance, plus multilingual support phrases, game NPC cards, tickets, business tables and personas.

Ordinary profiles (assigned in turn over the ordinary clients, from a rotation in which the profiles of
individual people come round two or three times as often as products, as people's keys outnumber products'):

``casual_chat_app`` (people through third-party chat apps), ``homework_student``,
``long_conversation`` (people who keep one chat going for dozens of turns), ``developer_debugging``,
``datasci_notebook_assistant`` (product), ``k8s_devops_copilot`` (product), ``rag_docs_bot`` (a
product answering over one document set), ``stepwise_math_tutor`` (product asking for step-by-step
reasoning), ``llm_judge_grader`` (grading service, top logprobs), ``sql_sheet_helper`` (spreadsheet
add-on and SQL helper), ``game_npc_backend``, ``accessibility_simplifier`` (plain language and alt
text), ``qa_testdata_generator`` (QA team's synthetic test data), ``calibration_analytics`` (an
analytics team classifying with 20 top logprobs for calibration), ``multilingual_support``
(customer chat in a dozen languages), ``writing_helper``, ``model_eval_team`` (a team benchmarking the
model on broad multiple-choice, maths and coding suites), ``content_moderation`` (classifier with top
logprobs), ``ml_engineer``, ``meeting_notes_summariser``, ``consumer_app_backend`` (one key behind a
consumer assistant app: every topic under the sun, multi-turn, very high volume).

Attack families (``attackers_per_family`` instances each):

* ``hydra_ring`` - 10-40 keys run as one operation: shared system prompt and templates, a few cloud
  /24s, one SDK version (a second one on a few keys); every key sweeps its own slice of a (topic x task) grid.
* ``cot_harvester`` - reasoning elicitation: maths, logic, code tracing and science problems wrapped
  in "think step by step / show all reasoning in tags" instructions.
* ``logprob_harvester`` - top_logprobs=20 on short-answer, multiple-choice and continuation prompts
  spread over every corpus.
* ``coverage_sweeper`` - one key walking a domain taxonomy systematically with a few question forms.
* ``self_instruct_synth`` - Self-Instruct seed-task expansion, Evol-Instruct rewriting, and answering
  the instructions it produced.
* ``low_and_slow`` - one key at ordinary volume from a residential address with a browser agent and
  casual phrasing, but walking a technical grid without repeats.
* ``sybil_personas`` (invented) - a ring of 10-40 keys on residential proxies, each written in its own
  persona's style (typos, lower case, politeness, terse), each with different agents and cover traffic
  of everyday questions, jointly covering one curriculum. No shared system prompt or template.
* ``judge_mimic`` (invented) - harvests preference/reward-model data by asking for pairwise and
  pointwise judgements with top logprobs, dressed as an LLM-as-judge evaluation service.
* ``docstring_to_code`` (invented) - code distillation: hands library docstrings and signatures
  (NumPy, SciPy, torch, pyarrow, ONNX) and asks for from-scratch implementations and tests, looking like
  a developer's coding assistant.
* ``conversation_replayer`` (invented) - multi-turn distillation: synthetic dialogues replayed with
  growing history (3 to 31 messages), follow-ups drawn from a scripted user simulator.
* ``key_rotation_hopper`` (invented) - a ring of 10-30 trial keys used one after another, each from a
  VPN exit or residential address, each continuing the same prompt list under the same wrapper.
* ``paraphrase_launderer`` (invented) - style-transfer data: every corpus passage rewritten in many
  styles in consecutive requests, behind a writing-app system prompt.
"""

from __future__ import annotations

import ast
import functools
import importlib.util
import json
import random
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cli.simulator import ClientPlan

# ---------------------------------------------------------------------------------------------------
# Corpora
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """One documented thing: ``area`` (e.g. "scipy.stats"), ``name`` as a user would type it, a one-sentence
    ``summary`` and a short ``detail`` paragraph."""

    area: str
    name: str
    summary: str
    detail: str


_ROLE = re.compile(r":[a-z:]+:`~?([^`]+)`")
_TICKS = re.compile(r"`+([^`]*)`+")
_LINK = re.compile(r"\[([^\]]+)\]\([^)]+\)")
_SPACES = re.compile(r"\s+")
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z(])")


def _clean(text: str) -> str:
    text = _ROLE.sub(r"\1", text)
    text = _LINK.sub(r"\1", text)
    text = _TICKS.sub(r"\1", text)
    text = text.replace("%(before_notes)s", " ").replace("%(after_notes)s", " ").replace("::", ":")
    return _SPACES.sub(" ", text).strip()


def _paragraphs(doc: str) -> list[str]:
    """The prose paragraphs of a docstring, up to its first section heading, example or directive."""
    out: list[str] = []
    for block in re.split(r"\n\s*\n", doc.strip()):
        lines = block.strip().splitlines()
        if not lines:
            continue
        if len(lines) >= 2 and set(lines[1].strip()) <= set("-=~^") and lines[1].strip():
            break  # a numpydoc section ("Parameters\n----------")
        first = lines[0].strip()
        if first.startswith((">>>", "..", "::", "%(", "Args:", "Example", "Shape:", "Attributes:", "Note")):
            break
        if first.endswith("::"):
            break
        para = _clean(block)
        if para:
            out.append(para)
        if len(out) >= 3:
            break
    return out


def _summary_detail(doc: str) -> tuple[str, str] | None:
    paras = _paragraphs(doc)
    if not paras or len(paras[0]) < 12:
        return None
    sentences = _SENTENCE.split(paras[0])
    summary = sentences[0].strip()
    detail = " ".join(paras)
    if len(detail) > 700:
        cut = detail[:700]
        detail = cut[: cut.rfind(". ") + 1] if ". " in cut else cut
    if len(summary) > 240:
        summary = summary[:240].rsplit(" ", 1)[0]
    return summary, detail


def _package_dir(name: str) -> Path | None:
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for loc in spec.submodule_search_locations:
        return Path(loc)
    return None


def _parse(path: Path) -> ast.Module | None:
    try:
        return ast.parse(path.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
        return None


def _module_docs(path: Path, area: str, prefix: str, classes: bool, functions: bool) -> list[Entry]:
    tree = _parse(path)
    if tree is None:
        return []
    out: list[Entry] = []
    for node in tree.body:
        if (isinstance(node, ast.ClassDef) and classes) or (isinstance(node, ast.FunctionDef) and functions):
            assert isinstance(node, ast.ClassDef | ast.FunctionDef)
            if node.name.startswith("_"):
                continue
            doc = ast.get_docstring(node)
            if not doc:
                continue
            sd = _summary_detail(doc)
            if sd is None:
                continue
            name = node.name
            if area == "scipy.stats" and name.endswith("_gen"):
                name = name[: -len("_gen")]
            out.append(Entry(area, prefix + name, sd[0], sd[1]))
    return out


def _scipy() -> list[Entry]:
    root = _package_dir("scipy")
    if root is None:
        return []
    out: list[Entry] = []
    for fname in ("stats/_continuous_distns.py", "stats/_discrete_distns.py"):
        out += [e for e in _module_docs(root / fname, "scipy.stats", "scipy.stats.", True, False)]
    for fname in ("_minimize.py", "_optimize.py", "_root.py", "_root_scalar.py", "_linprog.py",
                  "_minpack_py.py", "_differentialevolution.py", "_dual_annealing.py", "_basinhopping.py",
                  "_lsq/least_squares.py", "_milp.py", "_nnls.py", "_isotonic.py"):
        out += _module_docs(root / "optimize" / fname, "scipy.optimize", "scipy.optimize.", False, True)
    for fname in ("_signaltools.py", "_filter_design.py", "_spectral_py.py", "_peak_finding.py",
                  "_waveforms.py", "_fir_filter_design.py", "_savitzky_golay.py", "_czt.py"):
        out += _module_docs(root / "signal" / fname, "scipy.signal", "scipy.signal.", False, True)
    for fname in ("_quadpack_py.py", "_ode.py", "_ivp/ivp.py", "_quadrature.py"):
        out += _module_docs(root / "integrate" / fname, "scipy.integrate", "scipy.integrate.", False, True)
    for fname in ("_interpolate.py", "_cubic.py", "_fitpack_py.py", "_rbfinterp.py", "_ndgriddata.py"):
        out += _module_docs(root / "interpolate" / fname, "scipy.interpolate", "scipy.interpolate.", True, True)
    return out


def _numpy() -> list[Entry]:
    root = _package_dir("numpy")
    if root is None:
        return []
    out: list[Entry] = []
    for fname, prefix in (("_core/fromnumeric.py", "np."), ("lib/_function_base_impl.py", "np."),
                          ("linalg/_linalg.py", "np.linalg."), ("fft/_pocketfft.py", "np.fft."),
                          ("lib/_shape_base_impl.py", "np."), ("lib/_nanfunctions_impl.py", "np."),
                          ("lib/_arraysetops_impl.py", "np."), ("lib/_polynomial_impl.py", "np."),
                          ("_core/numeric.py", "np.")):
        out += _module_docs(root / fname, "numpy", prefix, False, True)
    return out


def _torch() -> list[Entry]:
    root = _package_dir("torch")
    if root is None:
        return []
    out: list[Entry] = []
    mods = root / "nn" / "modules"
    if mods.is_dir():
        for path in sorted(mods.glob("*.py")):
            if path.name.startswith("_"):
                continue
            out += _module_docs(path, "torch.nn", "torch.nn.", True, False)
    optim = root / "optim"
    if optim.is_dir():
        for path in sorted(optim.glob("*.py")):
            if path.name.startswith("_") or path.name == "optimizer.py":
                continue
            area = "torch.optim.lr_scheduler" if path.name == "lr_scheduler.py" else "torch.optim"
            prefix = "torch.optim.lr_scheduler." if path.name == "lr_scheduler.py" else "torch.optim."
            out += _module_docs(path, area, prefix, True, False)
    return [e for e in out if not e.name.endswith(("Module", "Base", "Mixin"))]


def _mpmath() -> list[Entry]:
    root = _package_dir("mpmath")
    if root is None:
        return []
    tree = _parse(root / "function_docs.py")
    if tree is None:
        return []
    out: list[Entry] = []
    for node in tree.body:
        if (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)
                and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)):
            sd = _summary_detail(node.value.value)
            if sd is not None:
                out.append(Entry("mpmath", "mpmath." + node.targets[0].id, sd[0], sd[1]))
    return out


def _openai_types() -> list[Entry]:
    root = _package_dir("openai")
    if root is None:
        return []
    paths = sorted((root / "types" / "chat").glob("*.py")) + sorted((root / "types").glob("*.py"))
    out: list[Entry] = []
    seen: set[str] = set()
    for path in paths:
        if path.name.startswith("__"):
            continue
        tree = _parse(path)
        if tree is None:
            continue
        for node in tree.body:
            if not isinstance(node, ast.ClassDef):
                continue
            body = node.body
            for i, stmt in enumerate(body[:-1]):
                nxt = body[i + 1]
                if (isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name)
                        and isinstance(nxt, ast.Expr) and isinstance(nxt.value, ast.Constant)
                        and isinstance(nxt.value.value, str)):
                    key = stmt.target.id
                    sd = _summary_detail(nxt.value.value)
                    if sd is None or key in seen:
                        continue
                    seen.add(key)
                    out.append(Entry("openai", key, sd[0], sd[1]))
    return out


def _matplotlib_rc() -> list[Entry]:
    root = _package_dir("matplotlib")
    if root is None:
        return []
    try:
        text = (root / "mpl-data" / "matplotlibrc").read_text(encoding="utf-8")
    except OSError:
        return []
    out: list[Entry] = []
    pat = re.compile(r"^#([a-z][a-z0-9_.]+\.[a-z0-9_.]+)\s*:\s*([^#]*?)\s*#\s*(.+)$")
    for line in text.splitlines():
        m = pat.match(line)
        if m and len(m.group(3)) > 8:
            default = m.group(2).strip() or "(empty)"
            out.append(Entry("matplotlib", m.group(1), m.group(3).strip(), f"default {default}; {m.group(3).strip()}"))
    return out


def _pyarrow_compute() -> list[Entry]:
    if importlib.util.find_spec("pyarrow") is None:
        return []
    try:
        import pyarrow.compute as pc

        out: list[Entry] = []
        for name in sorted(pc.list_functions()):
            if name.startswith(("hash_", "_")):
                continue
            doc = pc.get_function(name)._doc
            summary = str(getattr(doc, "summary", "") or "").strip()
            desc = _clean(str(getattr(doc, "description", "") or ""))
            if summary:
                out.append(Entry("pyarrow.compute", "pc." + name, summary, (summary + ". " + desc)[:700]))
        return out
    except Exception:  # an odd pyarrow build: the hand-written vocabulary stands in
        return []


def _onnx_ops() -> list[Entry]:
    if importlib.util.find_spec("onnx") is None:
        return []
    try:
        import onnx.defs

        latest: dict[tuple[str, str], Entry] = {}
        for schema in onnx.defs.get_all_schemas():
            doc = str(schema.doc or "")
            sd = _summary_detail(doc)
            if sd is None:
                continue
            domain = str(schema.domain or "ai.onnx")
            latest[(domain, str(schema.name))] = Entry("onnx", str(schema.name), sd[0], sd[1])
        return [latest[k] for k in sorted(latest)]
    except Exception:  # an odd onnx build: the hand-written vocabulary stands in
        return []


def _kubernetes() -> list[Entry]:
    root = _package_dir("kubernetes_validate")
    if root is None:
        return []
    base = root / "kubernetes-json-schema"
    if not base.is_dir():
        return []

    def version_key(p: Path) -> tuple[int, ...]:
        return tuple(int(x) for x in re.findall(r"\d+", p.name)[:3])

    folders = sorted((p for p in base.iterdir() if p.is_dir() and p.name.endswith("-local")), key=version_key)
    if not folders:
        return []
    try:
        defs = json.loads((folders[-1] / "_definitions.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    table = defs.get("$defs") or defs.get("definitions") or {}
    out: list[Entry] = []
    for full, schema in table.items():
        if not isinstance(schema, dict) or ".k8s.api." not in full or "alpha" in full:
            continue
        kind = full.rsplit(".", 1)[-1]
        for field_name, prop in (schema.get("properties") or {}).items():
            if field_name in ("apiVersion", "kind", "metadata") or not isinstance(prop, dict):
                continue
            sd = _summary_detail(str(prop.get("description") or ""))
            if sd is not None:
                out.append(Entry("kubernetes", f"{kind}.{field_name}", sd[0], sd[1]))
    return out


def _etc_services() -> list[Entry]:
    out: list[Entry] = []
    seen: set[str] = set()
    for path, area in ((Path("/etc/services"), "services"), (Path("/etc/protocols"), "protocols")):
        try:
            lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            continue
        for line in lines:
            body, _, comment = line.partition("#")
            parts = body.split()
            if len(parts) < 2:
                continue
            key = f"{area}:{parts[0]}"
            if key in seen:
                continue
            seen.add(key)
            comment = comment.strip()
            out.append(Entry(area, parts[0], parts[1], comment or parts[0]))
    return out


def _cert_names() -> list[str]:
    try:
        names = sorted(p.stem.replace("_", " ") for p in Path("/etc/ssl/certs").glob("*.pem"))
    except OSError:
        return []
    return [n for n in names if not re.fullmatch(r"[0-9a-f.]+", n)]


def _locales() -> list[str]:
    try:
        lines = Path("/usr/share/i18n/SUPPORTED").read_text(encoding="utf-8").splitlines()
    except OSError:
        return []
    out: list[str] = []
    for line in lines:
        name = line.split()[0] if line.split() else ""
        if name.endswith(".UTF-8"):
            out.append(name[: -len(".UTF-8")])
    return out


def _unicode_chars() -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for lo, hi in ((0x00C0, 0x024F), (0x0370, 0x03FF), (0x0400, 0x04FF), (0x0590, 0x06FF), (0x0900, 0x097F),
                   (0x0E00, 0x0E7F), (0x1E00, 0x1EFF), (0x2000, 0x206F), (0x20A0, 0x20C0), (0x2100, 0x218F),
                   (0x2190, 0x21FF), (0x2200, 0x22FF), (0x2460, 0x24FF), (0x3040, 0x30FF), (0xAC00, 0xAC40),
                   (0x1F300, 0x1F64F)):
        for cp in range(lo, hi):
            name = unicodedata.name(chr(cp), "")
            if name:
                out.append((chr(cp), name))
    return out


# Hand-written stand-ins, used for any area whose corpus is missing.
_FALLBACK: dict[str, list[tuple[str, str]]] = {
    "scipy.stats": [("scipy.stats.gamma", "A gamma continuous random variable."),
                    ("scipy.stats.weibull_min", "Weibull minimum continuous random variable."),
                    ("scipy.stats.nbinom", "A negative binomial discrete random variable."),
                    ("scipy.stats.lognorm", "A lognormal continuous random variable.")],
    "scipy.optimize": [("scipy.optimize.minimize", "Minimization of scalar function of one or more variables."),
                       ("scipy.optimize.curve_fit", "Use non-linear least squares to fit a function to data."),
                       ("scipy.optimize.brentq", "Find a root of a function in a bracketing interval.")],
    "scipy.signal": [("scipy.signal.butter", "Butterworth digital and analog filter design."),
                     ("scipy.signal.find_peaks", "Find peaks inside a signal based on peak properties."),
                     ("scipy.signal.welch", "Estimate power spectral density using Welch's method.")],
    "numpy": [("np.einsum", "Evaluates the Einstein summation convention on the operands."),
              ("np.percentile", "Compute the q-th percentile of the data along the specified axis."),
              ("np.linalg.lstsq", "Return the least-squares solution to a linear matrix equation.")],
    "torch.nn": [("torch.nn.LayerNorm", "Applies Layer Normalization over a mini-batch of inputs."),
                 ("torch.nn.MultiheadAttention", "Allows the model to jointly attend to information."),
                 ("torch.nn.Conv2d", "Applies a 2D convolution over an input signal.")],
    "torch.optim": [("torch.optim.AdamW", "Implements AdamW algorithm."),
                    ("torch.optim.SGD", "Implements stochastic gradient descent (optionally with momentum).")],
    "mpmath": [("mpmath.zeta", "Computes the Riemann zeta function."),
               ("mpmath.besselj", "Computes the Bessel function of the first kind.")],
    "openai": [("top_logprobs", "An integer specifying the number of most likely tokens to return."),
               ("max_completion_tokens", "An upper bound for the number of tokens that can be generated.")],
    "matplotlib": [("axes.titlesize", "font size of the axes title"),
                   ("figure.dpi", "figure dots per inch")],
    "pyarrow.compute": [("pc.utf8_upper", "Transform input to uppercase"),
                        ("pc.cumulative_sum", "Compute the cumulative sum over a numeric input")],
    "onnx": [("Gemm", "General Matrix multiplication."), ("Resize", "Resize the input tensor.")],
    "kubernetes": [("PodSpec.affinity", "If specified, the pod's scheduling constraints"),
                   ("DeploymentSpec.strategy", "The deployment strategy to use to replace existing pods with new ones."),
                   ("Container.readinessProbe", "Periodic probe of container service readiness.")],
    "services": [("ssh", "22/tcp"), ("https", "443/tcp"), ("postgresql", "5432/tcp"), ("domain", "53/udp")],
}


@dataclass
class Corpora:
    areas: dict[str, list[Entry]]
    certs: list[str]
    locales: list[str]
    uchars: list[tuple[str, str]]
    _cache: dict[str, list[Entry]] = field(default_factory=dict)

    def area(self, name: str) -> list[Entry]:
        return self.areas[name]

    def tech(self, cap: int = 250) -> list[Entry]:
        """Every documented thing except network services, at most ``cap`` per area, so that no area dominates."""
        key = f"tech:{cap}"
        if key not in self._cache:
            out: list[Entry] = []
            for name in sorted(self.areas):
                items = self.areas[name]
                if name == "services":
                    continue
                if len(items) > cap:
                    items = random.Random(f"cap:{name}").sample(items, cap)
                out += items
            self._cache[key] = out
        return self._cache[key]


@functools.lru_cache(maxsize=1)
def _corpora() -> Corpora:
    areas: dict[str, list[Entry]] = {}
    for entries in (_scipy(), _numpy(), _torch(), _mpmath(), _openai_types(), _matplotlib_rc(),
                    _pyarrow_compute(), _onnx_ops(), _kubernetes(), _etc_services()):
        for e in entries:
            areas.setdefault(e.area, []).append(e)
    areas.setdefault("services", []).extend(Entry("services", e.name, e.summary, e.detail) for e in areas.pop("protocols", []))
    merged = {"scipy.integrate": "scipy.optimize", "scipy.interpolate": "scipy.signal",
              "torch.optim.lr_scheduler": "torch.optim"}
    for src, dst in merged.items():
        if src in areas:
            areas.setdefault(dst, []).extend(Entry(dst, e.name, e.summary, e.detail) for e in areas.pop(src))
    for area, items in _FALLBACK.items():
        if len(areas.get(area, [])) < len(items):
            areas[area] = [Entry(area, n, s, s) for n, s in items]
    certs = _cert_names() or ["ISRG Root X1", "DigiCert Global Root G2", "GlobalSign Root CA", "USERTrust RSA Certification Authority"]
    locales = _locales() or ["en_US", "en_GB", "de_DE", "fr_FR", "es_ES", "es_MX", "pt_BR", "it_IT", "nl_NL", "pl_PL",
                             "tr_TR", "ja_JP", "ko_KR", "zh_CN", "sv_SE", "fi_FI", "hi_IN", "ar_EG"]
    return Corpora(areas, certs, locales, _unicode_chars())


# ---------------------------------------------------------------------------------------------------
# Hand-written vocabulary
# ---------------------------------------------------------------------------------------------------

_SLOTS: dict[str, list[str]] = {
    "baby": ["4-month-old", "7-month-old", "9-month-old", "11-month-old", "toddler", "18-month-old", "two-year-old"],
    "age": ["3", "4", "5", "6", "7", "8", "9", "10", "11", "12"],
    "age2": ["2", "5", "7", "9", "13", "14"],
    "clock": ["2am", "3:30am", "4:45am", "midnight", "5am", "1am"],
    "weeks": ["two", "three", "four", "six"],
    "n": ["3", "4", "5", "6", "8"],
    "hard": ["a grandparent dying", "divorce", "why we're moving", "a new baby coming", "money being tight",
             "a friend's parent being in hospital"],
    "milestone": ["walking", "saying more than a few words", "sleeping through the night", "using a spoon",
                  "pointing at things"],
    "fixture": ["kitchen faucet", "bathroom sink tap", "shower valve", "outdoor spigot", "toilet fill valve"],
    "wall": ["drywall", "plaster and lath", "textured ceiling", "tiled backsplash"],
    "hole": ["a doorknob-sized hole", "a few nail pops", "a long crack above the door frame", "anchor holes from a TV mount"],
    "car": ["2012 Honda Civic", "2016 Toyota RAV4", "2009 Ford Focus", "2018 VW Golf", "2014 Subaru Outback",
            "2011 Mazda 3", "2019 Kia Sportage", "2007 Toyota Corolla", "2015 Chevy Silverado", "2020 Hyundai Kona"],
    "miles": ["62,000", "98,000", "131,000", "154,000", "187,000", "41,000"],
    "code": ["P0420", "P0171", "P0300", "P0455", "P0128", "P0442", "P0507", "P0113"],
    "noise": ["a squeal when braking", "a clunk over speed bumps", "a whine that rises with speed",
              "a ticking at idle", "a grinding noise when turning left", "a rattle from under the car at 2000 rpm"],
    "instrument": ["guitar", "piano", "violin", "cello", "ukulele", "drums", "trumpet", "bass guitar", "flute", "voice"],
    "piece": ["Clair de Lune", "the Bach cello suite No. 1 prelude", "Blackbird", "Für Elise", "a Chopin nocturne",
              "Wonderwall", "the Pachelbel canon", "Autumn Leaves", "a Sor étude", "Hallelujah"],
    "minutes": ["15", "20", "30", "45", "60"],
    "game": ["Catan", "Ticket to Ride", "Carcassonne", "Monopoly", "Scrabble", "Wingspan", "Pandemic",
             "Azul", "Codenames", "Terraforming Mars", "Dominion", "chess", "Risk", "Splendor"],
    "sport": ["soccer", "basketball", "cricket", "baseball", "tennis", "rugby union", "ice hockey", "volleyball",
              "American football", "badminton", "netball", "water polo"],
    "rent": ["$1,450", "$2,100", "£950", "£1,300", "€880", "$1,875"],
    "deposit": ["$1,400", "$2,000", "£1,100", "€1,760", "$900"],
    "days": ["10", "14", "21", "30", "45", "60"],
    "place": ["California", "Ontario", "England", "Texas", "New York", "Victoria (Australia)", "Ireland",
              "Washington state", "Scotland", "British Columbia", "Germany", "Massachusetts"],
    "plant": ["tomatoes", "hydrangeas", "a fiddle-leaf fig", "basil", "roses", "blueberries", "a lemon tree in a pot",
              "zucchini", "a monstera", "garlic", "strawberries", "lavender"],
    "symptom": ["yellow leaves at the bottom", "black spots on the leaves", "white powder on the leaves",
                "curling new growth", "flowers but no fruit", "brown crispy edges", "tiny webs under the leaves"],
    "zone": ["zone 5", "zone 7b", "zone 9", "the Pacific Northwest", "a north-facing balcony", "clay soil in the Midlands"],
    "pet": ["cat", "dog", "rabbit", "guinea pig", "budgie", "bearded dragon", "puppy", "senior dog"],
    "pet_issue": ["scratches the sofa", "won't stop barking at the door", "pees outside the litter box",
                  "pulls on the lead", "is scared of the vacuum", "eats too fast and throws up"],
    "distance": ["5k", "10k", "half marathon", "marathon"],
    "weeks_out": ["6", "8", "10", "12", "16"],
    "amount": ["$3,000", "$12,000", "£5,000", "€20,000", "$40,000", "£800"],
    "device": ["printer", "wifi router", "smart TV", "laptop", "Chromebook", "phone", "mesh system", "doorbell camera"],
    "device_issue": ["keeps dropping the connection", "says it's offline even though everything else works",
                     "won't turn on after an update", "is really slow in the evenings", "can't find the network"],
    "doc": ["passport", "driving licence", "tax return", "birth certificate", "visa renewal", "car registration"],
}

_EVERYDAY: dict[str, list[str]] = {
    "parenting": [
        "My {baby} keeps waking up at {clock} every night. Is this a sleep regression and what can we try?",
        "How do I get a {age}-year-old to eat vegetables without a fight at every dinner?",
        "What's a reasonable amount of screen time for a {age}-year-old on school days?",
        "Our {age}-year-old has started biting other kids at daycare. How should we respond in the moment?",
        "Potty training our {age}-year-old, {weeks} weeks in and still lots of accidents. Should we pause and try later?",
        "Ideas for a rainy-day indoor activity for {n} kids aged {age} to {age2} that doesn't need much prep?",
        "How much pocket money should a {age}-year-old get, and should it be tied to chores?",
        "My {age2}-year-old refuses to talk about school at all. How do I ask without it feeling like an interrogation?",
        "Is it normal for a {baby} to still not be {milestone}? Should I mention it to the pediatrician?",
        "How do I explain {hard} to a {age}-year-old?",
        "Bedtime takes over an hour with our {age}-year-old. Can you suggest a routine we could try for two weeks?",
        "What are some good chapter books to read aloud to a {age}-year-old who likes animals and jokes?",
    ],
    "diy": [
        "My {fixture} drips even when it's fully closed. How do I figure out whether it's the cartridge or the washer?",
        "What's the right way to patch {hole} in {wall} so it doesn't show after painting?",
        "Toilet keeps running every 20 minutes for a few seconds. What part is usually the culprit?",
        "The GFCI outlet in my bathroom trips whenever I use the hair dryer. Is that the outlet or the dryer?",
        "How do I re-caulk a bathtub properly? The old caulk is moldy and peeling.",
        "Interior door sticks at the top corner in summer. Can I fix it without taking it off the hinges?",
        "What size drill bit and anchor should I use to hang a 25 kg mirror on {wall}?",
        "There's a hairline crack in our concrete garage floor. Is that something to worry about or just seal it?",
        "How do I bleed the radiators, and why is the top of one cold while the bottom is hot?",
        "Can I paint over oil-based trim with water-based paint? What prep do I need?",
        "The sliding patio door is really hard to move. Is it the rollers or the track?",
        "Replacing a light switch with a dimmer: the old switch has a red, black and bare wire. Which goes where?",
    ],
    "car": [
        "My {car} with {miles} miles is throwing code {code}. What's the most likely cause and is it safe to drive?",
        "There's {noise} on my {car}. What should I check first before taking it to a garage?",
        "How often should I really change the oil on a {car}? The manual and the dealer say different things.",
        "The battery terminals on my {car} have white crusty stuff on them. How do I clean that safely?",
        "Is it worth replacing the timing belt on a {car} at {miles} miles or should I sell it first?",
        "The coolant in my {car} looks brownish instead of pink. Should I flush it myself?",
        "How do I tell if my tires need replacing? The tread looks OK but they're six years old.",
        "AC on my {car} blows warm air on the passenger side only. Any idea?",
        "What does it mean when the steering wheel shakes only between 55 and 65 mph?",
        "Quoted $780 for front pads and rotors on a {car}. Is that reasonable or should I do it myself?",
        "Can I jump start a hybrid {car} from a regular car, and which terminals do I use?",
    ],
    "music": [
        "I've been learning {instrument} for a year and I practise {minutes} minutes a day. How should I structure that time?",
        "How do I practise {piece} on {instrument} when one passage is way too fast for me?",
        "Barre chords on {instrument} still buzz after months of trying. What am I probably doing wrong?",
        "What's a good metronome routine to fix rushing in the left hand?",
        "How do I get better at sight-reading as an adult beginner on {instrument}?",
        "My teacher says my tone on {instrument} is thin. What exercises help with that?",
        "How should I warm up my voice before choir if I only have ten minutes?",
        "Can you explain the difference between the natural, harmonic and melodic minor scales with an example in A?",
        "What are the most useful drum rudiments to learn first and at what tempo should I start?",
        "I get really nervous at recitals and my hands shake. Any practical tips for the day?",
        "Is it bad to learn songs by ear instead of from sheet music when you're starting {instrument}?",
    ],
    "boardgames": [
        "In {game}, what exactly happens when {rule_q}?",
        "We're arguing about a rule in {game}: can you do something on another player's turn?",
        "What's a good strategy for a first-time player in {game}?",
        "Can you explain the scoring at the end of {game} in simple terms? We always forget something.",
        "What are good board games for {n} players that take under an hour and aren't too competitive?",
        "Our {game} games always take three hours. Any house rules to speed it up?",
        "Is {game} good for kids around {age}, or is there a simpler version?",
        "In chess, how does en passant actually work and why does it exist?",
        "In Catan, when a 7 is rolled who has to discard cards, and how many?",
        "In Carcassonne, how do farmers score under the current rules?",
        "In Monopoly, is it actually a rule that you auction a property if someone doesn't buy it?",
    ],
    "sports": [
        "Can someone explain the offside rule in {offside_sport} like I'm new to it?",
        "How does the tiebreak work in tennis, and when do players switch ends?",
        "What is LBW in cricket and why are some decisions reviewed?",
        "What's the infield fly rule in baseball and why does it exist?",
        "In {sport}, what's the difference between a foul and a violation?",
        "My kid just started {sport} at {age}. What are the basic rules we should know as parents?",
        "How does the points table work in {sport} leagues when teams are level?",
        "Why was that a knock-on and not a forward pass in rugby?",
        "What does icing mean in ice hockey?",
        "Can a goalkeeper score from their own area in {sport}?",
        "What are the rules on substitutions in {sport} at the youth level?",
    ],
    "tenant": [
        "I moved out of my flat in {place} {days} days ago and the landlord still hasn't returned my {deposit} deposit. What can I do?",
        "My landlord in {place} wants to raise the rent from {rent} with {days} days' notice. Is that allowed?",
        "There's black mould in the bedroom and the landlord says it's our fault for drying clothes inside. What are my rights in {place}?",
        "How much notice do I have to give to end a month-to-month lease in {place}?",
        "Can my landlord enter the apartment without notice to show it to new tenants?",
        "We want to break our lease early because of a job move. What's usually the cheapest way to do that?",
        "How do I file a small claims case for an unpaid invoice of {amount}? Roughly what are the steps in {place}?",
        "The heating has been broken for {days} days in winter. Can I withhold rent in {place}?",
        "Is a landlord allowed to keep the deposit for normal wear and tear like faded paint and carpet marks?",
        "Can you help me write a polite but firm letter to my landlord asking for the repairs to be done?",
        "My roommate moved out and stopped paying their share of the {rent} rent. Am I liable for it?",
    ],
    "garden": [
        "My {plant} have {symptom}. What's causing it and what should I do?",
        "When should I prune {plant} in {zone}?",
        "How do I start a compost pile if I only have a small yard and no garden waste in winter?",
        "What vegetables can I still plant in {zone} this late in the season?",
        "How deep should a raised bed be for {plant}, and what soil mix should I fill it with?",
        "How often should I water {plant} in a heatwave?",
        "My lawn has bare patches after the summer. Overseed now or wait for spring?",
        "Is it safe to use coffee grounds around {plant}?",
        "What's eating holes in my {plant} leaves overnight? I never see anything during the day.",
        "Can I grow {plant} indoors under a cheap LED grow light?",
    ],
    "pets": [
        "My {pet} {pet_issue}. How do I train that out of them?",
        "How much should a {pet} eat per day, roughly? The bag's guidance seems high.",
        "We're adopting a {pet} next week. What should we have ready on day one?",
        "Is it normal for a {pet} to sleep most of the day?",
        "How do I introduce a new {pet} to our older cat without fights?",
        "My {pet} hates car rides. We have a 6-hour drive coming up. Any tips?",
        "What human foods are actually dangerous for a {pet}?",
    ],
    "running": [
        "I'm training for a {distance} in {weeks_out} weeks. I can currently run 5 km comfortably. Can you draft a plan?",
        "How do I deal with shin splints without stopping running completely?",
        "What's a sensible pace for easy runs if my {distance} race pace is 5:30/km?",
        "Should I eat before a morning run or run fasted?",
        "How do I start running again after three months off with a knee that aches on stairs?",
        "Couch to 5k week 5 run 3 feels impossible. Should I repeat week 4?",
        "What should I carry for a {distance} - gels, water, salt?",
    ],
    "money": [
        "I have {amount} in savings and a credit card balance of {amount}. Pay the card off first or keep an emergency fund?",
        "How do I explain credit utilization and why my score dropped after I paid off a loan?",
        "What's a simple way to budget on an irregular freelance income?",
        "Is it better to overpay the mortgage or put {amount} into a retirement account?",
        "How do I split household bills fairly with a partner who earns a lot more than me?",
        "What should I check before co-signing a car loan for my {age2}-year-old?",
        "How do I set up a sinking fund for car repairs and holidays?",
    ],
    "admin": [
        "My {doc} expires in two months and I have a trip booked. Do I need to renew now?",
        "What documents do I usually need to register a car after moving to {place}?",
        "How do I dispute a charge on my bank statement that I don't recognise?",
        "Can you help me write an email to cancel a gym membership that says I need to come in person?",
        "I got a parking ticket in {place} but the sign was covered by a tree. How do I appeal?",
        "What should I include in a complaint to my energy supplier about an estimated bill of {amount}?",
    ],
    "hometech": [
        "My {device} {device_issue}. What can I try before calling the provider?",
        "How do I set up parental controls on the home wifi without buying anything new?",
        "Is a mesh system worth it for a three-storey house, or should I run an ethernet cable?",
        "How do I move photos from an old Android phone to an iPhone without losing the dates?",
        "Our {device} keeps asking for a password we never set. How do I reset it?",
        "What's the safest way to back up family photos - cloud, external drive, or both?",
    ],
}
_SLOTS["offside_sport"] = ["soccer", "ice hockey", "rugby union", "field hockey", "American football", "futsal"]
_YES_NO = [
    "Is it legal in {place} for a landlord to enter without notice?", "Can I jump-start a {car} from a hybrid?",
    "Is {game} suitable for a {age}-year-old?", "Are {plant} frost hardy in {zone}?", "Is en passant mandatory in chess?",
    "Can a goalkeeper pick up a back-pass in {offside_sport}?", "Should I replace the timing belt on a {car} at {miles} miles?",
    "Is it normal for a {pet} to sleep 16 hours a day?", "Can a landlord keep the deposit for faded paint?",
    "Is it OK to run a {distance} without gels?", "Does a {device} need to be restarted weekly?",
    "Can a {baby} sleep with a blanket?", "Is code {code} serious?", "Is a {deposit} deposit refundable if I never moved in?",
]
_RULE_Q = ["you roll doubles three times", "two players tie on points", "the draw pile runs out",
           "someone places a tile that can't connect", "a player runs out of trains", "nobody can make a legal move"]
_SLOTS["rule_q"] = _RULE_Q

_FOLLOWUPS = [
    "thanks! and what if that doesn't work?", "Can you make that shorter?", "ok. how long does that usually take?",
    "What would you do in my position?", "Can you turn that into a checklist?", "hmm, I tried that already",
    "Is there a cheaper option?", "Sorry, I meant the {age}-year-old, not the baby", "Why?",
    "Can you explain the second point a bit more?", "what's the most common mistake people make with this?",
    "Is that the same in {place}?", "great, thank you", "Could you give me an example?",
    "Do I need any special tools for that?", "And if I can't afford a professional?",
    "ok that makes sense. one more question about the same thing", "how would I know if it's serious?",
    "Can you write that as a message I can send?", "What should I avoid doing?",
]

_ACADEMIC = [
    "the causes of the Thirty Years' War", "how mRNA vaccines train the immune system", "the Krebs cycle",
    "supply and demand elasticity", "the separation of powers in the US constitution", "plate tectonics",
    "the French Revolution's effect on European borders", "photosynthesis light and dark reactions",
    "the difference between weather and climate", "Keynesian versus monetarist economics",
    "how the electoral college works", "the themes of Macbeth", "the Treaty of Versailles",
    "natural selection versus genetic drift", "the structure of DNA", "the Silk Road trade networks",
    "why the Roman Republic fell", "the water cycle", "oxidation and reduction", "Newton's three laws",
    "the symbolism in The Great Gatsby", "the causes of the 2008 financial crisis", "the Meiji Restoration",
    "how vaccines achieve herd immunity", "the Bill of Rights", "entropy in everyday terms", "the Cold War arms race",
    "how interest rates affect inflation", "cell mitosis and meiosis", "the partition of India",
    "ocean acidification", "the Hundred Years' War", "opportunity cost", "the Harlem Renaissance",
    "the nitrogen cycle", "Ohm's law", "the Reformation", "comparative advantage", "Romanticism in poetry",
    "how earthquakes are measured", "the Byzantine Empire", "the greenhouse effect", "the Magna Carta",
]

_EVERYDAY_SUBJECTS = {
    "parenting": ["sleep regressions", "toddler tantrums", "picky eating", "screen-time limits", "potty training",
                  "sibling rivalry", "teen communication", "pocket money"],
    "diy": ["dripping taps", "drywall patching", "running toilets", "re-caulking", "sticking doors", "hanging heavy mirrors",
            "bleeding radiators", "installing a dimmer switch"],
    "car": ["check-engine codes", "brake noise", "oil change intervals", "battery corrosion", "timing belts",
            "coolant flushes", "tyre age", "wheel balancing"],
    "music": ["practice routines", "barre chords", "metronome work", "sight-reading", "vocal warm-ups",
              "drum rudiments", "performance nerves", "minor scales"],
    "boardgames": ["Catan rules", "chess en passant", "Carcassonne farmers", "Monopoly auctions", "Ticket to Ride strategy",
                   "Wingspan scoring", "cooperative games", "party games"],
    "sports": ["the offside rule", "tennis tiebreaks", "LBW in cricket", "the infield fly rule", "icing in hockey",
               "rugby knock-ons", "basketball travelling", "league tie-breakers"],
    "tenant": ["deposit returns", "rent increase notice", "mould repairs", "ending a lease", "landlord entry",
               "small claims", "withholding rent", "roommate liability"],
    "garden": ["blossom end rot", "pruning hydrangeas", "composting", "raised beds", "watering in heatwaves",
               "overseeding lawns", "slugs and snails", "indoor grow lights"],
    "pets": ["litter box problems", "lead pulling", "introducing pets", "car anxiety", "toxic foods"],
    "running": ["marathon plans", "shin splints", "easy-run pace", "returning from injury", "race fuelling"],
    "money": ["emergency funds", "credit utilization", "irregular-income budgets", "mortgage overpayment",
              "sinking funds", "co-signing loans"],
}

_OPENERS = ["", "", "", "Quick question: ", "hey, ", "Hi! ", "Help please - ", "ok so ", "Hello. ", "Random question but ",
            "Can I ask something? ", "I need advice. "]
_CLOSERS = ["", "", "", " Thanks!", " thx", " Thank you in advance.", " Keep it short please.", " (UK)", " (US)",
            " Be honest.", " Please explain simply."]

_NAMES = ["Ava", "Noah", "Mia", "Liam", "Zara", "Omar", "Priya", "Mateo", "Chloe", "Kenji", "Fatima", "Lucas", "Ines",
          "Tomasz", "Aisha", "Jonas", "Leila", "Ravi", "Sofia", "Emeka", "Hana", "Diego", "Freya", "Yusuf"]

_BUSINESS_TABLES: dict[str, list[str]] = {
    "orders": ["order_id", "customer_id", "order_date", "status", "total_amount", "currency", "channel"],
    "customers": ["customer_id", "email", "signup_date", "country", "plan", "referrer", "is_active"],
    "invoices": ["invoice_id", "customer_id", "issued_at", "due_at", "paid_at", "amount_due", "amount_paid"],
    "subscriptions": ["subscription_id", "customer_id", "plan", "started_at", "cancelled_at", "mrr"],
    "events": ["event_id", "user_id", "event_name", "occurred_at", "session_id", "device", "properties"],
    "shipments": ["shipment_id", "order_id", "carrier", "shipped_at", "delivered_at", "warehouse", "weight_kg"],
    "tickets": ["ticket_id", "requester_id", "created_at", "priority", "category", "first_response_at", "solved_at"],
    "inventory": ["sku", "warehouse", "on_hand", "reserved", "reorder_point", "updated_at"],
    "employees": ["employee_id", "department", "manager_id", "hire_date", "salary_band", "location"],
    "payments": ["payment_id", "invoice_id", "method", "captured_at", "amount", "fee", "refunded"],
    "sensor_readings": ["device_id", "ts", "temperature_c", "humidity", "battery_pct", "firmware"],
    "web_sessions": ["session_id", "user_id", "started_at", "ended_at", "landing_page", "utm_source", "pageviews"],
}
_SQL_ASKS = [
    "monthly revenue for the last 12 months, with month-over-month growth as a percentage",
    "the top 10 customers by lifetime value, excluding refunded payments",
    "customers who signed up last quarter but never placed an order",
    "the median time between creation and first response, by priority",
    "a 7-day rolling average, one row per day even on days with no data",
    "duplicates on email, keeping only the most recent row",
    "cohort retention: users grouped by signup month and the share active in each following month",
    "the percentage of late deliveries per carrier per week",
    "rows where the value jumped by more than 20% compared with the previous reading for the same device",
    "a running total per customer ordered by date",
    "the second most recent record per group",
    "a pivot with one column per status and counts in the cells",
]
_SHEET_ASKS = [
    "a formula that looks up the price from the Products tab by SKU and returns 0 if it's missing",
    "conditional formatting that highlights a row red when the due date is past and Paid is blank",
    "a formula to count unique customers per month",
    "how to split 'Last, First' in column A into two columns",
    "a formula that sums column D only when column B says 'Approved' and the date in C is this month",
    "how to remove duplicate rows but keep the one with the latest date",
    "an XLOOKUP that returns the whole row",
    "a formula that calculates working days between two dates excluding a list of holidays",
    "a QUERY() that groups by region and sums sales",
    "how to turn a column of text dates like '03/04/2024' into real dates when some are US format",
]

_TICKET_LABELS = ["billing", "login_issue", "bug_report", "feature_request", "cancellation", "shipping_delay",
                  "refund_request", "account_security", "how_to", "praise", "outage", "other"]
_TICKET_BODIES = [
    "I was charged twice for my {month} subscription, please refund one of them",
    "cant log in, the reset email never arrives. checked spam already",
    "The export button does nothing on Safari, works on Chrome",
    "would be great if you could add dark mode to the mobile app",
    "please cancel my account effective immediately, i'm moving to another provider",
    "my order #{order} was supposed to arrive on monday and tracking hasn't updated for 5 days",
    "I returned the item two weeks ago, where is my refund??",
    "I got an email saying someone logged in from another country. Was that me?",
    "how do I add a second user to our team plan",
    "Just wanted to say your support person {name} was fantastic yesterday",
    "Dashboard shows 502 errors for everyone in our office since 9am",
    "The app crashes when I upload a photo larger than about 10MB",
    "why did my invoice go up from {price} to {price2} this month without notice",
    "Is there a student discount?",
    "the item arrived damaged, the box was crushed. what now",
    "I need an invoice with our VAT number on it for accounting",
]
_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December"]

_POSTS = [
    "this update is garbage, whoever designed it should be fired lol",
    "Selling my old bike, DM me if interested, located near the station",
    "anyone know a good dentist around here who takes walk-ins?",
    "you people are idiots if you believe that article",
    "Check out my new blog post on sourdough starters!!! link in bio",
    "I'm so done with everything. nothing ever gets better",
    "Free crypto giveaway, send 0.1 and get 1 back, limited time",
    "Great game last night, the keeper was unreal",
    "does anyone have the notes from Tuesday's lecture?",
    "go back to where you came from",
    "my cat just knocked a full glass of water onto my laptop. send help",
    "Buy followers cheap, 10k for $5, guaranteed real accounts",
    "I think the new policy is unfair to part-time staff and here's why",
    "lmao that referee needs glasses",
    "Does anyone want to trade a PS5 controller for a Switch game?",
]

_POST_TEMPLATES = [
    "{name} is such a {insult}, can't believe they got promoted", "selling my {device} for {price}, barely used, pick up only",
    "anyone in {place} know a good {trade}? ours retired", "{team} lost AGAIN. {n} games in a row. sack the manager",
    "Just finished my first {distance}!!! {n} minutes slower than planned but who cares", "my {pet} {pet_issue} and I'm losing my mind",
    "Reminder: the {game} night is moved to Thursday", "honestly people who {habit} should be banned from the internet",
    "DM me for cheap {device}s, {n} in stock, no questions asked", "lost {pet} near the park on {month} {n}, answers to {name}",
    "Does anyone have a spare ticket for Saturday? will pay {price}", "I hate my job so much today. {n} hours of meetings",
    "who else is watching the {sport} final tonight", "new recipe blog post up, link in my profile {n}",
    "{name} you're pathetic, everyone knows what you did", "can't sleep again. {clock} and wide awake",
]
_SLOTS["insult"] = ["clown", "joke", "liar", "genius (not)", "snake", "loser"]
_SLOTS["trade"] = ["plumber", "electrician", "dentist", "mechanic", "piano teacher", "childminder", "vet"]
_SLOTS["team"] = ["United", "City", "the Rovers", "the Lakers", "the Jets", "Real", "the Sharks"]
_SLOTS["habit"] = ["put pineapple on pizza", "don't use indicators", "reply-all", "clap when the plane lands", "talk in cinemas"]

_LANG_SUPPORT: dict[str, list[str]] = {
    "es": ["Hola, mi pedido {order} todavía no ha llegado, ¿me pueden decir dónde está?",
           "Quiero cambiar la dirección de envío de mi pedido, ¿es posible?",
           "Me cobraron dos veces este mes. ¿Cómo solicito el reembolso?",
           "¿Tienen tallas más grandes de este modelo?", "No puedo iniciar sesión en la app desde ayer",
           "¿Cuánto tarda la devolución del dinero?", "gracias, eso es todo"],
    "de": ["Hallo, meine Bestellung {order} ist noch nicht angekommen. Können Sie nachsehen?",
           "Ich möchte mein Abo kündigen. Wie geht das?", "Die Rechnung ist falsch, es fehlt unsere USt-IdNr.",
           "Kann ich die Lieferadresse noch ändern?", "Das Produkt ist beschädigt angekommen.",
           "Wie lange dauert die Rückerstattung?", "Danke, das hat geholfen"],
    "fr": ["Bonjour, ma commande {order} n'est toujours pas arrivée, pouvez-vous vérifier ?",
           "Je n'arrive pas à me connecter à mon compte depuis ce matin",
           "Comment puis-je retourner un article acheté en solde ?", "J'ai été débité deux fois, que faire ?",
           "Est-ce que la livraison est possible en Belgique ?", "Merci beaucoup pour votre aide"],
    "pt": ["Olá, meu pedido {order} ainda não chegou. Podem verificar?", "Como faço para trocar um produto?",
           "Fui cobrado duas vezes no cartão", "Vocês entregam no interior de Minas Gerais?",
           "Não recebi o código de rastreio", "obrigado!"],
    "it": ["Buongiorno, il mio ordine {order} non è ancora arrivato", "Vorrei disdire l'abbonamento",
           "Come posso ottenere la fattura?", "Il prodotto è arrivato rotto", "grazie mille"],
    "nl": ["Hallo, mijn bestelling {order} is nog niet aangekomen", "Hoe kan ik mijn abonnement opzeggen?",
           "Ik ben twee keer afgeschreven", "Kan ik het afleveradres nog wijzigen?", "bedankt"],
    "pl": ["Dzień dobry, moje zamówienie {order} jeszcze nie dotarło", "Jak mogę zwrócić produkt?",
           "Zostałem obciążony dwa razy", "Nie mogę się zalogować do aplikacji", "dziękuję"],
    "tr": ["Merhaba, {order} numaralı siparişim hâlâ gelmedi", "Aboneliğimi nasıl iptal edebilirim?",
           "Kartımdan iki kez çekim yapıldı", "İade ne kadar sürer?", "teşekkürler"],
    "ja": ["注文番号{order}の商品がまだ届いていません。確認していただけますか？", "サブスクリプションを解約したいです",
           "二重に請求されています", "配送先住所を変更できますか？", "ありがとうございました"],
    "ko": ["주문번호 {order} 상품이 아직 도착하지 않았어요", "구독을 해지하고 싶어요", "결제가 두 번 됐어요",
           "배송지를 변경할 수 있나요?", "감사합니다"],
    "sv": ["Hej, min beställning {order} har inte kommit än", "Hur säger jag upp mitt abonnemang?",
           "Jag har blivit debiterad två gånger", "tack"],
    "en": ["Hi, my order {order} hasn't arrived yet, can you check?", "How do I cancel my subscription?",
           "I was charged twice this month", "Can I change the delivery address?", "thanks, that's all"],
}

_NPC_CARDS = [
    ("Mira", "herbalist", "wary of strangers, knows the swamp paths"),
    ("Brannoc", "blacksmith", "gruff, owes money to the guild"),
    ("Sister Ilse", "temple archivist", "kind, hides a forbidden book"),
    ("Kestrel", "smuggler captain", "charming, lies about cargo"),
    ("Old Tam", "ferryman", "superstitious, speaks in riddles"),
    ("Vex-7", "maintenance android", "literal-minded, protective of the colony"),
    ("Lady Corvane", "noble widow", "cold, secretly funds the rebels"),
    ("Pip", "street urchin", "cheeky, knows every rooftop route"),
    ("Dr. Okafor", "station medic", "exhausted, suspects sabotage"),
    ("Grum", "troll bridge-keeper", "loves puns, hates rain"),
    ("Captain Reyes", "frontier sheriff", "tired, fair, low on deputies"),
    ("Yuki", "ramen stall owner", "gossip, remembers every customer"),
]
_PLAYER_LINES = [
    "What do you know about the missing caravan?", "Can you sell me something for the poison?",
    "I'm looking for work. Anything pay well around here?", "Who's in charge of this town?",
    "Have you seen a woman with a silver mask come through?", "That's a lie and you know it.",
    "I'll pay double if you keep quiet.", "Tell me about the ruins to the north.", "Nice weather today, huh?",
    "I found this amulet in the cave. Recognise it?", "Why are the guards so jumpy tonight?",
    "Can you teach me to fight?", "I need passage across the river before dawn.", "What happened to your arm?",
    "Goodbye.", "Do you have any rumours?", "I helped your brother yesterday.", "Give me a discount or I walk.",
]
_QUESTS = ["The Drowned Bell", "Ashes of Greyhill", "A Debt in Copper", "The Lantern Thief", "Signal from Deck 9",
           "The Ferryman's Price", "Rust and Roses"]

_JUDGE_QUESTIONS = [
    ("What is the capital of Australia?", "Canberra."),
    ("Explain why the sky is blue in one or two sentences.",
     "Sunlight is scattered by air molecules, and shorter blue wavelengths scatter much more than red ones (Rayleigh scattering)."),
    ("Convert 72 degrees Fahrenheit to Celsius.", "About 22.2 °C."),
    ("Name two causes of inflation.", "Demand outpacing supply (demand-pull) and rising input costs (cost-push)."),
    ("Summarise the plot of Romeo and Juliet in one sentence.",
     "Two young lovers from feuding families secretly marry, and a chain of misunderstandings ends in both their deaths."),
    ("What does HTTP status 404 mean?", "The server could not find the requested resource."),
    ("Is 221 a prime number?", "No, 221 = 13 × 17."),
    ("What is the main function of red blood cells?", "To carry oxygen from the lungs to the body's tissues, using haemoglobin."),
]
_DEFECTS = ["", "", "is partly wrong", "is correct but far too long", "ignores half the question", "is vague",
            "contains a made-up citation", "is correct", "answers a different question"]


# ---------------------------------------------------------------------------------------------------
# Text helpers
# ---------------------------------------------------------------------------------------------------

_SLOT = re.compile(r"\{([a-z_0-9]+)\}")
Rng = random.Random


def _fill(rng: Rng, template: str, extra: dict[str, str] | None = None) -> str:
    def sub(m: re.Match[str]) -> str:
        key = m.group(1)
        if extra and key in extra:
            return extra[key]
        if key == "order":
            return f"{rng.choice(['#', '', 'A', 'NL-'])}{rng.randint(100000, 9999999)}"
        if key in ("price", "price2"):
            return f"${rng.randint(9, 99)}.{rng.choice(['00', '99', '50'])}"
        if key == "month":
            return rng.choice(_MONTHS)
        if key == "name":
            return rng.choice(_NAMES)
        values = _SLOTS.get(key)
        return rng.choice(values) if values else m.group(0)

    return _SLOT.sub(sub, template)


def _everyday(rng: Rng, domains: Sequence[str] | None = None) -> str:
    domain = rng.choice(list(domains) if domains else sorted(_EVERYDAY))
    return _fill(rng, rng.choice(_EVERYDAY[domain]))


def _casual(rng: Rng, text: str, level: float) -> str:
    """People type differently: lower case, dropped punctuation, the odd typo."""
    if rng.random() < level:
        text = text[0].lower() + text[1:]
    if rng.random() < level * 0.8:
        text = text.rstrip("?.!")
    if rng.random() < level * 0.6:
        words = text.split(" ")
        i = rng.randrange(len(words))
        w = words[i]
        if len(w) > 4:
            j = rng.randrange(1, len(w) - 2)
            words[i] = w[:j] + w[j + 1] + w[j] + w[j + 2:]
        text = " ".join(words)
    if rng.random() < level * 0.3:
        text = text.replace(" you ", " u ").replace("please", "pls")
    return text


def _short(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[:limit]
    return cut[: cut.rfind(" ")] + "…" if " " in cut else cut


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:] if text[:2] != text[:2].upper() else text


# --- procedural problems ----------------------------------------------------------------------------


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _math_problem(rng: Rng) -> str:
    kind = rng.randrange(16)
    a, b, c = rng.randint(2, 19), rng.randint(2, 40), rng.randint(3, 90)
    name = rng.choice(_NAMES)
    if kind == 0:
        return f"Solve for x: {a}x + {b} = {a * rng.randint(2, 12) + b}"
    if kind == 1:
        return f"Solve for x: {a}(x - {b % 9 + 1}) = {c} - {a % 5 + 1}x"
    if kind == 2:
        return f"A jacket costs ${c + 20}. It is discounted by {rng.choice([10, 15, 20, 25, 30, 35])}% and then a {rng.choice([5, 8, 10])}% sales tax is added. What is the final price?"
    if kind == 3:
        return f"Simplify {a}/{b} + {rng.randint(1, 9)}/{rng.randint(2, 12)} and write the answer as a mixed number if needed."
    if kind == 4:
        r1, r2 = rng.randint(-9, 9), rng.randint(-9, 9)
        return f"Solve x^2 {'-' if r1 + r2 > 0 else '+'} {abs(r1 + r2)}x {'+' if r1 * r2 >= 0 else '-'} {abs(r1 * r2)} = 0"
    if kind == 5:
        return f"Solve the system: {a}x + {b % 7 + 1}y = {c}, {b % 5 + 2}x - y = {a + 3}"
    if kind == 6:
        return f"Find the derivative of f(x) = {a}x^{rng.randint(2, 6)} - {b}x^{rng.randint(1, 3)} + sin({rng.randint(2, 5)}x)"
    if kind == 7:
        return f"Evaluate the integral of {a}x^{rng.randint(1, 4)} + {b} from 0 to {rng.randint(1, 5)}."
    if kind == 8:
        return f"Two fair dice are rolled. What is the probability that the sum is at least {rng.randint(7, 11)}?"
    if kind == 9:
        return f"A circle has radius {a} cm. A square is inscribed in it. What is the area between the circle and the square?"
    if kind == 10:
        return f"{name} invests ${c * 100} at {rng.choice([3, 4, 5, 6, 7])}% interest compounded {rng.choice(['annually', 'monthly', 'quarterly'])}. How much is it worth after {rng.randint(2, 15)} years?"
    if kind == 11:
        return f"A train leaves at {rng.randint(6, 11)}:{rng.choice(['00', '15', '30', '45'])} travelling at {c + 30} km/h. A second train leaves the same station {rng.randint(1, 3)} hours later at {c + 60} km/h on the same track. When does the second catch up?"
    if kind == 12:
        return f"{name} can paint a fence in {a} hours and a friend can do it in {b % 11 + 3} hours. How long does it take working together?"
    if kind == 13:
        return f"How many litres of a {rng.choice([10, 20, 25])}% salt solution must be mixed with {c} litres of a {rng.choice([40, 50, 60])}% solution to get a {rng.choice([30, 35])}% solution?"
    if kind == 14:
        return f"The {_ordinal(rng.randint(8, 40))} term of an arithmetic sequence that starts {a}, {a + b}, {a + 2 * b}, ... is what? And what is the sum of the first {rng.randint(10, 30)} terms?"
    return f"In how many ways can {rng.randint(4, 9)} people sit around a round table if two particular people refuse to sit next to each other?"


def _logic_puzzle(rng: Rng) -> str:
    kind = rng.randrange(4)
    people = rng.sample(_NAMES, rng.randint(3, 5))
    if kind == 0:
        a, b, c = people[:3]
        return (f"{a} is taller than {b}. {c} is shorter than {b} but taller than {people[-1]}. "
                f"Who is the second shortest? Explain how you know.")
    if kind == 1:
        a, b = people[:2]
        return (f"On an island, knights always tell the truth and knaves always lie. {a} says: "
                f"\"{b} and I are {rng.choice(['both knaves', 'of different types', 'both knights'])}.\" What are {a} and {b}?")
    if kind == 2:
        return (f"{', '.join(people[:-1])} and {people[-1]} each own a different pet ({', '.join(rng.sample(['cat', 'dog', 'parrot', 'fish', 'rabbit', 'snake'], len(people)))}). "
                f"{people[0]} does not own the dog. The owner of the fish lives next to {people[1]}. {people[2]} is allergic to fur. "
                f"Is there enough information to determine who owns what? If not, what is missing?")
    n = rng.randint(3, 12)
    return f"You have {n} coins and one is counterfeit and lighter. What is the minimum number of weighings on a balance scale to find it, and how?"


def _code_trace(rng: Rng) -> str:
    n = rng.randint(3, 9)
    k = rng.randint(2, 5)
    snippets = [
        f"def f(n):\n    if n <= 1:\n        return n\n    return f(n - 1) + {k} * f(n - 2)\n\nprint(f({n}))",
        f"xs = [i * i for i in range({n}) if i % {k} != 0]\nprint(sum(xs), xs[-1])",
        f"d = {{}}\nfor w in 'the cat and the hat and the bat'.split():\n    d[w] = d.get(w, 0) + {k}\nprint(sorted(d.items(), key=lambda kv: -kv[1])[:2])",
        f"a = list(range({n}))\nb = a\nb.append({k})\na = a + [{k * 2}]\nprint(len(a), len(b))",
        f"s = 0\ni = {n}\nwhile i > 0:\n    s += i % {k}\n    i //= {k}\nprint(s)",
        f"def g(xs, acc=[]):\n    acc.append(len(xs))\n    return acc\n\ng([1] * {n})\nprint(g([0] * {k}))",
    ]
    return "What does this Python code print? Trace it carefully.\n\n```python\n" + rng.choice(snippets) + "\n```"


# ---------------------------------------------------------------------------------------------------
# Networks and agents
# ---------------------------------------------------------------------------------------------------

_CLOUD_16 = ["3.91", "3.208", "18.116", "18.204", "34.82", "34.141", "35.186", "35.203", "52.14", "52.57", "54.163",
             "54.237", "13.58", "20.84", "20.119", "40.76", "52.168", "104.45", "5.75", "88.198", "95.216",
             "116.202", "135.181", "138.201", "65.108", "168.119", "51.38", "51.77", "54.36", "141.94", "145.239",
             "147.135", "64.225", "68.183", "104.131", "134.209", "138.68", "159.203", "161.35", "164.90",
             "167.99", "178.128", "45.33", "139.162", "172.104", "129.146", "132.145", "140.238", "45.76",
             "45.77", "66.42", "108.61", "149.28", "47.88", "47.242", "119.28", "101.32", "43.153"]
_RESIDENTIAL_8 = ["73", "24", "98", "67", "71", "76", "99", "108", "174", "47", "68", "75", "86", "81", "90", "92",
                  "2", "5", "84", "85", "87", "94", "109", "176", "178", "188", "177", "179", "187", "189", "191",
                  "49", "59", "101", "110", "114", "115", "116", "121", "122", "123", "180", "182", "183", "41",
                  "102", "105", "154", "197", "37", "46", "62", "77", "79", "80", "83", "93", "95", "151", "186",
                  "190", "200", "201", "203", "223"]
_CGNAT_24 = ["172.58.{}", "172.56.{}", "174.205.{}", "107.77.{}", "166.205.{}", "92.40.{}", "148.252.{}",
             "80.187.{}", "37.170.{}", "176.12.{}", "49.206.{}", "106.210.{}", "117.230.{}", "201.17.{}",
             "191.22.{}", "41.66.{}"]
_VPN_24 = ["185.220.{}", "193.27.{}", "45.83.{}", "89.187.{}", "37.19.{}", "212.102.{}", "156.146.{}",
           "185.159.{}", "146.70.{}", "194.110.{}"]


class Nets:
    """Shared address pools, built once per population from the master generator."""

    def __init__(self, rng: Rng) -> None:
        self.cloud = [f"{rng.choice(_CLOUD_16)}.{rng.randint(0, 255)}" for _ in range(90)]
        self.cgnat = [p.format(rng.randint(0, 255)) for p in _CGNAT_24 for _ in range(2)]
        self.offices = [self.residential(rng) if rng.random() < 0.3 else f"{rng.choice(_CLOUD_16)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
                        for _ in range(45)]
        self.campuses = [f"{rng.choice(['128.', '129.', '130.', '131.', '137.', '141.', '152.', '155.', '160.', '171.'])}{rng.randint(0, 255)}.{rng.randint(0, 255)}"
                         for _ in range(9)]
        self.vpn = [p.format(rng.randint(0, 255)) + f".{rng.randint(2, 250)}" for p in _VPN_24 for _ in range(3)]

    @staticmethod
    def residential(rng: Rng) -> str:
        return f"{rng.choice(_RESIDENTIAL_8)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"

    def cloud_ip(self, rng: Rng, prefix: str | None = None) -> str:
        return f"{prefix or rng.choice(self.cloud)}.{rng.randint(2, 253)}"

    def mobile(self, rng: Rng) -> str:
        return f"{rng.choice(self.cgnat)}.{rng.randint(1, 40)}"

    def office(self, rng: Rng) -> str:
        return rng.choice(self.offices)

    def campus(self, rng: Rng) -> str:
        return f"{rng.choice(self.campuses)}.{rng.randint(10, 13)}"

    def vpn_exit(self, rng: Rng) -> str:
        return rng.choice(self.vpn)

    def person(self, rng: Rng) -> str:
        r = rng.random()
        if r < 0.55:
            return self.residential(rng)
        if r < 0.8:
            return self.mobile(rng)
        if r < 0.9:
            return self.office(rng)
        return self.vpn_exit(rng)


def _ua_py(rng: Rng) -> str:
    if rng.random() < 0.7:
        return f"OpenAI/Python 1.{rng.randint(35, 109)}.{rng.randint(0, 3)}"
    return f"OpenAI/Python 2.{rng.randint(0, 16)}.{rng.randint(0, 2)}"


def _ua_js(rng: Rng) -> str:
    return rng.choice([f"OpenAI/JS 4.{rng.randint(50, 104)}.{rng.randint(0, 4)}", f"OpenAI/JS 5.{rng.randint(0, 23)}.{rng.randint(0, 2)}",
                       f"OpenAI/JS 6.{rng.randint(0, 9)}.{rng.randint(0, 1)}"])


def _ua_lib(rng: Rng) -> str:
    return rng.choice([
        f"python-requests/2.{rng.randint(25, 32)}.{rng.randint(0, 3)}", f"python-httpx/0.{rng.randint(24, 28)}.{rng.randint(0, 2)}",
        f"Python/3.{rng.randint(9, 13)} aiohttp/3.{rng.randint(8, 11)}.{rng.randint(0, 9)}", f"axios/1.{rng.randint(5, 8)}.{rng.randint(0, 9)}",
        "node", "Go-http-client/2.0", "Go-http-client/1.1", f"Java-http-client/{rng.choice(['17.0.11', '21.0.3', '21.0.5'])}",
        f"Apache-HttpClient/5.{rng.randint(1, 4)} (Java/17.0.{rng.randint(8, 12)})", f"okhttp/4.{rng.randint(9, 12)}.0",
        f"Faraday v2.{rng.randint(7, 12)}.0", "GuzzleHttp/7", f"Dart/3.{rng.randint(2, 6)} (dart:io)", "Ruby",
    ])


def _ua_curl(rng: Rng) -> str:
    return rng.choice([f"curl/8.{rng.randint(0, 12)}.{rng.randint(0, 1)}", f"curl/7.{rng.randint(68, 88)}.0",
                       f"PostmanRuntime/7.{rng.randint(32, 43)}.{rng.randint(0, 3)}", f"insomnia/{rng.randint(8, 10)}.{rng.randint(0, 6)}.0",
                       f"HTTPie/3.2.{rng.randint(1, 4)}"])


def _ua_browser(rng: Rng) -> str:
    chrome = rng.randint(118, 138)
    return rng.choice([
        f"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{chrome}.0.0.0 Safari/537.36",
        f"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{chrome}.0.0.0 Safari/537.36",
        f"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.{rng.randint(0, 6)} Safari/605.1.15",
        f"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:{rng.randint(115, 135)}.0) Gecko/20100101 Firefox/{rng.randint(115, 135)}.0",
        f"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{chrome}.0.0.0 Safari/537.36",
        f"Mozilla/5.0 (iPhone; CPU iPhone OS 17_{rng.randint(0, 6)} like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.{rng.randint(0, 6)} Mobile/15E148 Safari/604.1",
        f"Mozilla/5.0 (Linux; Android {rng.randint(12, 15)}; Pixel {rng.randint(6, 9)}) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{chrome}.0.0.0 Mobile Safari/537.36",
        f"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{chrome}.0.0.0 Safari/537.36 Edg/{chrome}.0.0.0",
    ])


def _ua_chat_app(rng: Rng) -> str:
    chrome = rng.randint(118, 134)
    return rng.choice([
        _ua_browser(rng), _ua_browser(rng),
        f"Chatbox/1.{rng.randint(3, 12)}.{rng.randint(0, 9)} (Windows)",
        f"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) obsidian/1.{rng.randint(5, 8)}.{rng.randint(0, 9)} Chrome/{chrome}.0.0.0 Electron/{rng.randint(28, 35)}.1.2 Safari/537.36",
        f"BoltAI/1.{rng.randint(20, 36)}.{rng.randint(0, 4)} (macOS 14.{rng.randint(0, 6)})",
        f"Raycast/1.{rng.randint(70, 95)}.0 (macOS Version 14.{rng.randint(0, 6)})",
        f"MindMac/1.9.{rng.randint(1, 20)}",
        f"PocketChat/{rng.randint(2, 4)}.{rng.randint(0, 9)} CFNetwork/1494.0.7 Darwin/23.4.0",
        f"okhttp/4.{rng.randint(9, 12)}.0",
        f"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Cursor/0.{rng.randint(40, 48)}.0 Chrome/{chrome}.0.0.0 Electron/32.2.6 Safari/537.36",
    ])


# ---------------------------------------------------------------------------------------------------
# Volumes and conversations
# ---------------------------------------------------------------------------------------------------


def _volume(rng: Rng, median: float, lo: int, hi: int, sigma: float = 0.9) -> int:
    return int(min(hi, max(lo, round(rng.lognormvariate(0.0, sigma) * median))))


def _count(volume: int, scale: float) -> int:
    return max(1, round(volume * scale))


def _sessions(rng: Rng, n: int, system: bool, first: Callable[[], str], follow: Callable[[str], str],
              min_len: int, max_len: int, mean_len: float, regen: float = 0.0) -> tuple[list[str], list[int]]:
    """Conversations, one user message per request; each request carries the history so far.

    ``regen``: the chance that a user presses "regenerate" (the same request sent again)."""
    texts: list[str] = []
    turns: list[int] = []
    base = 1 if system else 0
    p = 1.0 / max(1.0, mean_len - min_len + 1)
    while len(texts) < n:
        length = min_len
        while length < max_len and rng.random() > p:
            length += 1
        prev = ""
        for j in range(length):
            prev = first() if j == 0 else follow(prev)
            texts.append(prev)
            turns.append(base + 2 * j + 1)
            if regen and rng.random() < regen:
                texts.append(prev)
                turns.append(base + 2 * j + 1)
    return texts[:n], turns[:n]


def _flat(n: int, make: Callable[[], str], turns_each: int) -> tuple[list[str], list[int]]:
    texts = [make() for _ in range(n)]
    return texts, [turns_each] * n


@dataclass
class Ctx:
    corpora: Corpora
    nets: Nets
    scale: float


# ---------------------------------------------------------------------------------------------------
# Questions about documented things
# ---------------------------------------------------------------------------------------------------


def _plain(summary: str) -> str:
    return _lower_first(summary.rstrip(".: "))


def _tech_question(rng: Rng, e: Entry) -> str:
    s = _plain(e.summary)
    short = e.name.rsplit(".", 1)[-1]
    if e.area == "scipy.stats":
        return rng.choice([
            f"How do I fit {e.name} to my data? I have about {rng.randint(40, 5000)} observations of {rng.choice(['repair times', 'claim sizes', 'rainfall', 'wait times', 'sensor errors', 'daily returns'])}.",
            f"What do the shape parameters of {e.name} mean in plain terms?",
            f"When would I pick {short} over a normal distribution? The docs just say: {e.summary}",
            f"How do I get a 95% upper bound from {e.name} - ppf or isf?",
            f"Why does {e.name}.fit give me a huge scale parameter when I pass floc=0?",
        ])
    if e.area in ("scipy.optimize", "scipy.signal", "numpy", "pyarrow.compute"):
        return rng.choice([
            f"I'm trying to use {e.name} ({s}). Can you show a minimal example with realistic data?",
            f"What's the difference between {e.name} and doing it by hand with a loop? Is it much faster?",
            f"{e.name} returns something I don't expect with NaNs in the input. How does it treat missing values?",
            f"How do I {s} for each group in a DataFrame? Is {e.name} the right tool?",
            f"Can you explain the parameters of {e.name}? The docs say \"{_short(e.detail, 220)}\" and I'm lost.",
            f"Is there an equivalent of {e.name} that works on GPU arrays?",
        ])
    if e.area in ("torch.nn", "torch.optim"):
        return rng.choice([
            f"What input shape does {e.name} expect, and does batch_first matter here?",
            f"My loss goes to NaN after I added {short}. What are the usual causes?",
            f"When should I use {e.name} instead of the functional version?",
            f"What are sensible default hyperparameters for {e.name} when fine-tuning a small transformer?",
            f"Can you explain {e.name} intuitively? The docs: \"{_short(e.detail, 240)}\"",
        ])
    if e.area == "mpmath":
        return rng.choice([
            f"How do I compute {short} to 50 significant digits with mpmath?",
            f"What is {short} used for? mpmath describes it as: {e.summary}",
            f"Is {e.name} accurate for very large arguments, or should I use an asymptotic expansion?",
        ])
    if e.area == "openai":
        return rng.choice([
            f"What does the `{e.name}` field do in the chat completions API?",
            f"Is `{e.name}` required? I keep getting a 400 when I leave it out.",
            f"The SDK docs say `{e.name}`: \"{_short(e.summary, 160)}\" - can you give me an example request?",
        ])
    if e.area == "matplotlib":
        return rng.choice([
            f"How do I set {e.name} globally so every plot in my notebook uses it?",
            f"What does the rcParam {e.name} control? ({e.summary})",
            f"My figures look off - I think it's {e.name}. How do I reset it to the default?",
        ])
    if e.area == "onnx":
        return rng.choice([
            f"What exactly does the ONNX {e.name} operator compute? {_short(e.summary, 160)}",
            f"Exporting my model to ONNX fails with an unsupported {e.name} at opset {rng.randint(9, 21)}. How do I work around it?",
            f"Does onnxruntime run {e.name} on CUDA, or does it fall back to CPU?",
        ])
    if e.area == "kubernetes":
        kind, _, fld = e.name.partition(".")
        return rng.choice([
            f"What does `{fld}` on a {kind} do? The docs say \"{_short(e.summary, 200)}\" - when would I set it?",
            f"Can you write a minimal YAML example that sets {kind}.{fld}?",
            f"Is it safe to change {fld} on a live {kind}, or does it trigger a rollout?",
            f"kubectl explain gives me \"{_short(e.summary, 160)}\" for {fld}. What's a typical value?",
        ])
    if e.area == "services":
        return rng.choice([
            f"What is {e.name} ({e.summary}) used for, and should that port be open on a public server?",
            f"Connection refused on {e.summary} ({e.name}) from inside a Docker container but it works from the host. Why?",
            f"Our firewall team asks whether we need {e.name} on {e.summary}. What does it do? ({e.detail})",
        ])
    return f"Can you explain {e.name}? {e.summary}"


def _subject(rng: Rng, e: Entry) -> str:
    if rng.random() < 0.5:
        return f"{e.name} ({_plain(e.summary)})"
    return e.name


def _passage(rng: Rng, c: Corpora) -> str:
    areas = [a for a in ("numpy", "scipy.signal", "scipy.optimize", "torch.nn", "onnx", "kubernetes", "pyarrow.compute", "openai", "mpmath")
             if c.areas.get(a)]
    for _ in range(8):
        e = rng.choice(c.area(rng.choice(areas)))
        if len(e.detail) > 120:
            return e.detail
    return _fill(rng, rng.choice(_NOTICES))


_NOTICES = [
    "Notice is hereby given that, pursuant to clause 14(b) of the tenancy agreement, the landlord intends to enter the "
    "premises on {days} March between 9am and 5pm for the purpose of carrying out a gas safety inspection.",
    "Take one tablet twice daily with food. Do not exceed the stated dose. If symptoms persist for more than {days} days, "
    "consult your doctor. Avoid alcohol while taking this medicine as it may increase drowsiness.",
    "Residents are advised that the water supply will be interrupted for essential maintenance. Please ensure sufficient "
    "water is stored for drinking and sanitation purposes prior to the interruption.",
    "Applicants must submit proof of residence dated within the last three months together with a valid photographic "
    "identity document. Incomplete applications will not be processed and the fee is non-refundable.",
    "The council will collect bulky waste items on the date confirmed in your booking. Items must be placed at the "
    "boundary of the property by 7am. Electrical items must have plugs removed.",
    "Your benefit entitlement has been reassessed following a change in circumstances. Any overpayment arising will be "
    "recovered from future payments unless you request a mandatory reconsideration within one month.",
]
_ALT_OBJECTS = ["person", "wheelchair ramp", "bicycle", "dog", "laptop", "chart", "bar chart", "street sign", "bus",
                "tree", "crowd", "stage", "microphone", "classroom", "whiteboard", "food stall", "bridge", "river",
                "smartphone", "map", "logo", "handshake", "building entrance", "stairs", "elevator button panel"]
_CAPTIONS = ["Volunteers at the spring clean-up", "Quarterly results at a glance", "Our new step-free entrance",
             "The team at the product launch", "Route map for Saturday's fun run", "Library opening hours have changed",
             "Students presenting their science projects", "Before and after: the park renovation"]


# ---------------------------------------------------------------------------------------------------
# Ordinary profiles
# ---------------------------------------------------------------------------------------------------

ProfileFn = Callable[[Ctx, str, Rng], ClientPlan]

_MISC_TASKS = [
    "Write a short birthday message for my sister who's turning {age2}0, something funny but kind.",
    "Give me 5 dinner ideas that use up half a bag of spinach.", "What's a good name for a grey kitten?",
    "Help me write a text to cancel plans with a friend without sounding rude.",
    "Explain {academic} in simple terms.", "Can you make a packing list for a weekend camping trip with kids?",
    "Is it rude to bring a plus-one to a wedding if the invite doesn't say?",
    "What should I ask at a parent-teacher conference for a {age}-year-old?",
]


def _misc(rng: Rng) -> str:
    return _fill(rng, rng.choice(_MISC_TASKS), {"academic": rng.choice(_ACADEMIC)})


def _o_casual(ctx: Ctx, name: str, rng: Rng) -> ClientPlan:
    vol = _volume(rng, 12, 1, 220, 1.0)
    net, ua = ctx.nets.person(rng), _ua_chat_app(rng)
    system = rng.choice(["", "", "", "You are a helpful assistant.", "You are a helpful assistant. Answer concisely.",
                         "Be concise. I live in the UK.", "Use simple language and short answers.",
                         "You are a friendly, practical assistant. Ask a clarifying question if something is unclear."])
    domains = rng.sample(sorted(_EVERYDAY), rng.randint(2, 5))
    level = rng.choice([0.0, 0.1, 0.3, 0.6])

    def first() -> str:
        if rng.random() < 0.15:
            return _casual(rng, _misc(rng), level)
        return _casual(rng, rng.choice(_OPENERS) + _everyday(rng, domains) + rng.choice(_CLOSERS), level)

    def follow(_: str) -> str:
        if rng.random() < 0.25:
            return _casual(rng, _everyday(rng, domains), level)
        return _casual(rng, _fill(rng, rng.choice(_FOLLOWUPS)), level)

    texts, turns = _sessions(rng, _count(vol, ctx.scale), bool(system), first, follow, 1, 8, 2.2, regen=0.04)
    return ClientPlan(name, "casual_chat_app", False, texts, network=net, user_agent=ua, turns=turns, instructions=system)


def _o_homework(ctx: Ctx, name: str, rng: Rng) -> ClientPlan:
    vol = _volume(rng, 30, 2, 500, 1.0)
    r = rng.random()
    net = ctx.nets.campus(rng) if r < 0.4 else ctx.nets.residential(rng) if r < 0.75 else ctx.nets.mobile(rng)
    ua = _ua_py(rng) if rng.random() < 0.12 else _ua_chat_app(rng)
    level = rng.choice([0.2, 0.4, 0.7])
    stats = ctx.corpora.area("scipy.stats") + ctx.corpora.area("mpmath")

    def first() -> str:
        r = rng.random()
        if r < 0.4:
            return _casual(rng, rng.choice(["", "can you help me with this: ", "how do i solve ", "Solve and show steps: ",
                                            "I'm stuck on this homework question. "]) + _math_problem(rng), level)
        if r < 0.65:
            topic = rng.choice(_ACADEMIC)
            return _casual(rng, rng.choice([f"I have to write {rng.choice([500, 800, 1000, 1500])} words on {topic}. Can you give me an outline?",
                                            f"explain {topic} for my exam tomorrow",
                                            f"What are three arguments for and against the idea that {topic} was mainly about economics?",
                                            f"Can you quiz me on {topic}? 5 questions, one at a time."]), level)
        if r < 0.8:
            e = rng.choice(stats)
            return _casual(rng, f"my stats class mentioned {e.name.split('.')[-1]}. {e.summary} what does that mean in simple words?", level)
        return _casual(rng, f"Is this right? {_math_problem(rng)} I got {rng.randint(-20, 200)}.", level)

    def follow(_: str) -> str:
        return _casual(rng, rng.choice(["why?", "can you explain step 2 again", f"I got {rng.randint(-10, 90)}, where did I go wrong?",
                                        "ok now give me a similar one to try", "make it sound less like AI", "shorter please",
                                        "what formula is that", "thanks", "wait why do you divide there",
                                        "can you check my answer: " + str(rng.randint(1, 99))]), level)

    texts, turns = _sessions(rng, _count(vol, ctx.scale), False, first, follow, 1, 7, 2.5, regen=0.05)
    return ClientPlan(name, "homework_student", False, texts, network=net, user_agent=ua, turns=turns)


_PROJECTS: dict[str, tuple[str, list[str], list[str]]] = {
    "novel": ("You are my co-writer for a fantasy novel. Keep track of characters and continuity.",
              ["Let's keep going with chapter {n}. {name} has just found the letter in the cellar.",
               "I want to start a new subplot about {name}'s brother. Ideas?"],
              ["Rewrite that scene from {name}'s point of view.", "Too dramatic, tone it down.", "What happens next?",
               "Give me three options for how the chapter ends.", "Can you make the dialogue snappier?",
               "Remind me what we decided about the map last time.", "I don't like the villain's motive. Alternatives?",
               "Write the next 300 words.", "Is the pacing too slow in the middle?"]),
    "renovation": ("",
                   ["We're planning to renovate a 1970s kitchen on a budget of {amount}. Where do we start?",
                    "Next question on the renovation: the electrician says we need a new consumer unit."],
                   ["What order should the trades come in?", "Is that realistic for the budget?", "What about the flooring?",
                    "Can you make a rough timeline?", "The quote for plastering came in at {amount}. Fair?",
                    "Should we keep the old cabinets and just paint them?", "What permits might we need in {place}?",
                    "Ok, update the plan with that.", "What are we forgetting?"]),
    "language": ("You are my Spanish tutor. Correct my mistakes gently and keep the conversation going in Spanish.",
                 ["Hola! Hoy quiero practicar el pasado. Ayer yo fui al mercado con mi hermana.",
                  "Empezamos otra vez. Quiero hablar de mi trabajo."],
                 ["¿Está bien así?", "No entiendo la diferencia entre fue y era.", "Ayer comí paella y después caminamos por la playa.",
                  "Can you explain that in English?", "¿Me puedes dar más vocabulario?", "Cuando era niño, vivía en el campo.",
                  "Corrige esto por favor: yo he ido a la tienda ayer", "Otra pregunta, por favor."]),
    "campaign": ("You help me prepare a Dungeons & Dragons 5e campaign for four level-{age} players.",
                 ["Session {n} prep: the party is heading into the {quest} dungeon. Help me design it.",
                  "New arc: the players betrayed the guild. What are the consequences?"],
                 ["Give me three encounters.", "Is that encounter too deadly for them?", "Stat block for the boss?",
                  "Make the puzzle easier.", "What loot should they find?", "One player wants to multiclass, thoughts?",
                  "Write the boxed text for the entrance.", "How do I run a chase scene?"]),
    "startup": ("",
                ["I'm thinking about starting a small business selling refurbished {device}s. Can we work through a plan?",
                 "Back to the business plan. I've got numbers for the first quarter."],
                ["What about pricing?", "How do I estimate demand?", "Can you draft the one-page summary?",
                 "What are the legal steps to register in {place}?", "Rewrite the pitch, shorter.", "What are the risks?",
                 "Does a margin of 22% make sense?", "Let's do the marketing section next."]),
    "journal": ("Act as a supportive listener. Ask one reflective question at a time.",
                ["Today was rough at work again. Can I talk it through?", "I want to reflect on the week."],
                ["I think it's because I never say no.", "That's a good question. Probably my manager.", "I don't know.",
                 "Yes, that sounds right.", "How do other people deal with this?", "Can you summarise what I said?",
                 "I felt better after the walk.", "What should I try tomorrow?"]),
    "coding": ("You are a patient programming mentor. I'm learning Python.",
               ["Can you explain what a dictionary is and give me a small exercise?", "Next lesson please: classes."],
               ["Here's my attempt: for i in range(len(xs)): print(xs[i])", "I get a KeyError, why?", "What's a better way?",
                "Give me another exercise.", "What does self mean?", "Is this good style?", "Explain list comprehensions.",
                "Why is my function returning None?"]),
}


_REACTIONS = ["ok.", "Nice.", "Hmm.", "I like it.", "Not quite.", "Good, but", "Thanks!", "Love that.", "Wait,", "Right,",
              "Yes!", "No, that's wrong.", "Okay so", "Interesting."]
_ASIDES = ["Keep it under 200 words.", "Remember what I said earlier.", "Sorry, I only have a few minutes today.",
           "Does that make sense?", "Be honest.", "We can come back to the rest tomorrow.", "(this is for {name})",
           "I'm on my phone so keep it short.", "That's the main thing I'm worried about."]


def _o_long_conversation(ctx: Ctx, name: str, rng: Rng) -> ClientPlan:
    vol = _volume(rng, 160, 25, 1800, 0.9)
    net, ua = ctx.nets.person(rng), _ua_chat_app(rng)
    project = rng.choice(sorted(_PROJECTS))
    system, openers, follows = _PROJECTS[project]
    extra = {"quest": rng.choice(_QUESTS)}

    def first() -> str:
        return _fill(rng, rng.choice(openers), extra)

    def follow(_: str) -> str:
        if rng.random() < 0.15:
            return _fill(rng, rng.choice(_FOLLOWUPS))
        extra["n"] = str(rng.randint(2, 30))
        text = _fill(rng, rng.choice(follows), extra)
        if rng.random() < 0.5:
            text = f"{rng.choice(_REACTIONS)} {_lower_first(text) if rng.random() < 0.5 else text}"
        if rng.random() < 0.3:
            text += " " + _fill(rng, rng.choice(_ASIDES))
        return text

    texts, turns = _sessions(rng, _count(vol, ctx.scale), bool(system), first, follow, 6, 40, 17.0, regen=0.05)
    return ClientPlan(name, "long_conversation", False, texts, network=net, user_agent=ua, turns=turns, instructions=system)


_ERRORS = [
    "ssl.SSLCertVerificationError: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: unable to get local issuer certificate",
    "ValueError: operands could not be broadcast together with shapes (128,3) (3,128)",
    "RuntimeError: CUDA error: device-side assert triggered",
    "Error from server (Forbidden): pods is forbidden: User \"system:serviceaccount:ci:runner\" cannot list resource \"pods\"",
    "psycopg2.OperationalError: could not connect to server: Connection refused",
    "TypeError: Object of type datetime is not JSON serializable",
    "openai.RateLimitError: Error code: 429",
    "Back-off restarting failed container",
    "ImportError: cannot import name 'soft_unicode' from 'markupsafe'",
    "npm ERR! code ERESOLVE unable to resolve dependency tree",
]


def _o_developer(ctx: Ctx, name: str, rng: Rng) -> ClientPlan:
    vol = _volume(rng, 45, 2, 1500, 1.1)
    r = rng.random()
    net = ctx.nets.office(rng) if r < 0.5 else ctx.nets.residential(rng) if r < 0.85 else ctx.nets.vpn_exit(rng)
    r = rng.random()
    ua = _ua_py(rng) if r < 0.4 else _ua_curl(rng) if r < 0.65 else _ua_js(rng) if r < 0.85 else _ua_chat_app(rng)
    c = ctx.corpora
    areas = rng.sample(["numpy", "scipy.optimize", "torch.nn", "kubernetes", "services", "openai", "pyarrow.compute", "matplotlib"], 3)
    system = rng.choice(["", "", "You are a senior software engineer. Be terse.", "Answer with code first, explanation after."])

    def first() -> str:
        r = rng.random()
        if r < 0.3:
            err = rng.choice(_ERRORS)
            return rng.choice([f"Getting this:\n```\n{err}\n```\nany idea?", f"{err}\n\nhow do I fix this",
                               f"Why would I get `{err}` only in CI and not locally?"])
        if r < 0.4:
            ca = rng.choice(c.certs)
            return f"Our corporate proxy re-signs TLS with an internal CA chained to \"{ca}\". How do I make Python requests and Node trust it without disabling verification?"
        return _tech_question(rng, rng.choice(c.area(rng.choice(areas))))

    def follow(_: str) -> str:
        return rng.choice(["that didn't work, same error", "ok and in TypeScript?", "what if I can't upgrade the library?",
                           "can you write a test for it", "why does that fix it?", "show the full file",
                           "is there a config option instead?", "thanks, works"])

    texts, turns = _sessions(rng, _count(vol, ctx.scale), bool(system), first, follow, 1, 7, 2.0, regen=0.03)
    return ClientPlan(name, "developer_debugging", False, texts, network=net, user_agent=ua, turns=turns, instructions=system)


def _o_datasci(ctx: Ctx, name: str, rng: Rng) -> ClientPlan:
    vol = _volume(rng, 300, 40, 5000, 1.0)
    net, ua = ctx.nets.cloud_ip(rng), _ua_py(rng)
    system = ("You are a data science assistant embedded in a Jupyter notebook. You receive the user's current cell "
              "and a summary of variables in scope. Reply with a short explanation and runnable Python code.")
    c = ctx.corpora
    pool = c.area("numpy") + c.area("scipy.stats") + c.area("scipy.optimize") + c.area("scipy.signal") + c.area("matplotlib") + c.area("pyarrow.compute")
    tables = sorted(_BUSINESS_TABLES)

    def first() -> str:
        e = rng.choice(pool)
        t = rng.choice(tables)
        cols = _BUSINESS_TABLES[t]
        cell = rng.choice([f"df = pd.read_parquet('{t}.parquet')\ndf.describe()",
                           f"x = df['{rng.choice(cols)}'].to_numpy()\nplt.hist(x, bins=50)",
                           f"res = {e.name}(x)\nres", f"fig, ax = plt.subplots(figsize=(8, 4))\nax.plot(df['{cols[0]}'], df['{cols[-1]}'])",
                           f"grouped = df.groupby('{rng.choice(cols)}').agg('mean')"])
        ask = rng.choice([_tech_question(rng, e), f"Why is this so slow on {rng.randint(1, 90)} million rows?",
                          "Plot this as a log-scale histogram with the median marked.", f"Use {e.name} here instead and explain the output.",
                          "This raises a ValueError about shapes. Fix it.", "Add confidence intervals.",
                          f"Can I {_plain(e.summary)} without a loop?"])
        return f"Current cell:\n```python\n{cell}\n```\nVariables: df (DataFrame, {rng.randint(200, 3_000_000)} rows x {len(cols)} cols: {', '.join(cols)})\n\nRequest: {ask}"

    def follow(_: str) -> str:
        return rng.choice(["Run that on the filtered frame instead.", "Now make it a function.", "Explain the p-value.",
                           "Same but per group.", "That errors: KeyError.", "Make the plot prettier for a slide."])

    texts, turns = _sessions(rng, _count(vol, ctx.scale), True, first, follow, 1, 4, 1.4)
    return ClientPlan(name, "datasci_notebook_assistant", False, texts, network=net, user_agent=ua, turns=turns, instructions=system)


def _o_k8s(ctx: Ctx, name: str, rng: Rng) -> ClientPlan:
    vol = _volume(rng, 260, 30, 5000, 1.0)
    net = ctx.nets.cloud_ip(rng) if rng.random() < 0.7 else ctx.nets.office(rng)
    r = rng.random()
    ua = _ua_js(rng) if r < 0.4 else f"OpenAI/Go 1.{rng.randint(0, 12)}.{rng.randint(0, 3)}" if r < 0.7 else _ua_py(rng)
    system = rng.choice(["You are an SRE assistant for Kubernetes clusters. Be precise. Prefer kubectl commands and YAML.",
                         "You are KubeHelper, a DevOps copilot inside our internal developer portal. Assume EKS unless told otherwise."])
    c = ctx.corpora
    k8s, svc = c.area("kubernetes"), c.area("services")

    def first() -> str:
        r = rng.random()
        if r < 0.55:
            return _tech_question(rng, rng.choice(k8s))
        if r < 0.7:
            s = rng.choice(svc)
            return f"Pod can't reach {s.name} on {s.summary} in another namespace. NetworkPolicy is default-deny. What do I need to allow?"
        if r < 0.8:
            return f"{rng.choice(_ERRORS[2:4] + _ERRORS[7:8])}\n\nWhat should I check first?"
        kind = rng.choice(["Deployment", "StatefulSet", "CronJob", "Ingress", "HorizontalPodAutoscaler", "PodDisruptionBudget", "Service"])
        return f"Write a {kind} for a service called {rng.choice(['billing-api', 'ingest-worker', 'search', 'auth', 'notifier'])} with {rng.choice(['3 replicas', 'a readiness probe on /healthz', 'resource limits', 'anti-affinity across zones', 'a nightly schedule'])}."

    def follow(_: str) -> str:
        return rng.choice(["And with Helm values?", "What if it's on GKE?", "Add resource requests.", "kubectl command to verify?",
                           "It's still CrashLoopBackOff.", "Explain the difference with the previous version."])

    texts, turns = _sessions(rng, _count(vol, ctx.scale), True, first, follow, 1, 5, 1.6)
    return ClientPlan(name, "k8s_devops_copilot", False, texts, network=net, user_agent=ua, turns=turns, instructions=system)


def _o_rag(ctx: Ctx, name: str, rng: Rng) -> ClientPlan:
    vol = _volume(rng, 250, 30, 5000, 1.0)
    net = ctx.nets.cloud_ip(rng)
    ua = rng.choice([_ua_py(rng), _ua_js(rng), _ua_lib(rng)])
    c = ctx.corpora
    docset = rng.choice(["onnx", "torch.nn", "openai", "pyarrow.compute", "kubernetes", "matplotlib", "numpy", "scipy.signal"])
    docs = c.area(docset)
    # A product's users ask about the popular part of the docs far more often than the long tail.
    popular = rng.sample(docs, min(len(docs), rng.randint(25, 120)))
    system = ("Answer the user's question using only the documentation excerpts provided. Cite excerpts like [1]. "
              "If the excerpts do not contain the answer, say you don't know.")

    def first() -> str:
        hit = rng.choice(popular) if rng.random() < 0.8 else rng.choice(docs)
        others = rng.sample(docs, 2)
        order = [hit, *others]
        rng.shuffle(order)
        ctx_text = "\n\n".join(f"[{i + 1}] {d.name}: {_short(d.detail, 450)}" for i, d in enumerate(order))
        q = _tech_question(rng, hit)
        return f"Documentation excerpts:\n{ctx_text}\n\nQuestion: {q}"

    def follow(_: str) -> str:
        return rng.choice(["Can you show an example?", "Which version added that?", "What about the other one mentioned?",
                           "Is that documented anywhere else?"])

    texts, turns = _sessions(rng, _count(vol, ctx.scale), True, first, follow, 1, 3, 1.2)
    return ClientPlan(name, "rag_docs_bot", False, texts, network=net, user_agent=ua, turns=turns, instructions=system)


def _o_tutor(ctx: Ctx, name: str, rng: Rng) -> ClientPlan:
    vol = _volume(rng, 450, 50, 7000, 1.0)
    net = ctx.nets.cloud_ip(rng)
    ua = rng.choice([_ua_py(rng), _ua_js(rng), _ua_lib(rng)])
    system = rng.choice([
        "You are Mathly, a patient maths tutor for students aged 11-16. Work through problems step by step, explain each "
        "step, and check the student's understanding. Do not just give the final answer.",
        "You are a Socratic tutor. Think through the problem step by step, but guide the student with questions and hints.",
        "Tutor mode: show your reasoning step by step in simple language, then ask the student to try the next step.",
    ])

    def first() -> str:
        p = _math_problem(rng) if rng.random() < 0.85 else _logic_puzzle(rng)
        return rng.choice(["", "", "I'm stuck on this: ", "how do you do this one? ", "Can you explain step by step? "]) + p

    def follow(_: str) -> str:
        return rng.choice([f"I got {rng.randint(-12, 150)}. is that right?", f"why do we divide by {rng.randint(2, 9)}?",
                           "can you give me a similar one to practise?", "ok I think I get it", "what's a coefficient again?",
                           "I don't understand the second step", "can you just tell me the answer", "is there a faster way?",
                           "wait, why is it negative?", "let me try: " + str(rng.randint(1, 60))])

    texts, turns = _sessions(rng, _count(vol, ctx.scale), True, first, follow, 1, 9, 3.2, regen=0.02)
    return ClientPlan(name, "stepwise_math_tutor", False, texts, network=net, user_agent=ua, turns=turns, instructions=system)


def _o_judge(ctx: Ctx, name: str, rng: Rng) -> ClientPlan:
    vol = _volume(rng, 400, 50, 8000, 1.0)
    net, ua = ctx.nets.cloud_ip(rng), _ua_py(rng)
    system = rng.choice([
        "You are an impartial grader. Score the candidate answer against the reference using the rubric: 5 = fully correct "
        "and complete, 3 = partially correct, 1 = wrong or off-topic. Output only the integer score.",
        "Grade the response for factual accuracy relative to the reference. Reply with a single digit from 1 to 5.",
    ])
    c = ctx.corpora
    # The grader's own eval set: a fixed bank of questions, graded for many candidate answers each.
    area = rng.choice(["numpy", "kubernetes", "openai", "torch.nn", "scipy.stats", "pyarrow.compute"])
    bank: list[tuple[str, str]] = list(_JUDGE_QUESTIONS)
    for e in rng.sample(c.area(area), min(len(c.area(area)), rng.randint(30, 150))):
        bank.append((f"What does {e.name} do?", e.summary))
    every = c.tech()
    shots = rng.random() < 0.35

    def make() -> str:
        q, ref = rng.choice(bank)
        r = rng.random()
        if r < 0.4:
            cand = ref
        elif r < 0.6:
            cand = rng.choice(every).summary
        elif r < 0.8:
            cand = ref.split(".")[0] + f". {rng.choice(['I think.', 'It is commonly used in practice.', 'See the docs for details.', ''])}"
        else:
            cand = rng.choice(["I don't know.", "It depends on the context.", ref.upper(), ref[: max(8, len(ref) // 2)]])
        defect = rng.choice(_DEFECTS)
        note = f"\nGrader note: reviewer flagged that the answer {defect}." if defect and rng.random() < 0.1 else ""
        return f"Question: {q}\nReference answer: {ref}\nCandidate answer: {cand}{note}\n\nScore:"

    texts, turns = _flat(_count(vol, ctx.scale), make, 6 if shots else 2)
    return ClientPlan(name, "llm_judge_grader", False, texts, outputs="top3", network=net, user_agent=ua, turns=turns, instructions=system)


def _o_sql(ctx: Ctx, name: str, rng: Rng) -> ClientPlan:
    vol = _volume(rng, 90, 5, 3000, 1.1)
    net = ctx.nets.office(rng) if rng.random() < 0.5 else ctx.nets.cloud_ip(rng)
    r = rng.random()
    if r < 0.35:
        ua = f"Mozilla/5.0 (compatible; Google-Apps-Script; beanserver; +https://script.google.com; id: UAEmdDd{rng.randint(10**9, 10**10 - 1)})"
    elif r < 0.55:
        ua = f"Mozilla/5.0 (Windows NT 10.0; Win64; x64; WebView/3.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{rng.randint(118, 134)}.0.0.0 Safari/537.36 Edg/{rng.randint(118, 134)}.0.0.0"
    else:
        ua = rng.choice([_ua_lib(rng), _ua_js(rng), _ua_py(rng)])
    system = rng.choice(["You write SQL (PostgreSQL) and spreadsheet formulas. Return only the query or formula, then one line of explanation.",
                         "You are SheetWhiz. Answer with a formula for Google Sheets unless the user asks for Excel."])
    tables = rng.sample(sorted(_BUSINESS_TABLES), rng.randint(2, 5))

    def first() -> str:
        t = rng.choice(tables)
        if rng.random() < 0.55:
            return f"Table {t}({', '.join(_BUSINESS_TABLES[t])}). Write a query for {rng.choice(_SQL_ASKS)}."
        return f"{rng.choice(_SHEET_ASKS).capitalize()}. My data is in A2:{rng.choice('DEFGHK')}{rng.randint(50, 20000)}."

    def follow(_: str) -> str:
        return rng.choice(["it says #N/A for some rows", "Make it work in BigQuery.", "Now only for 2024.", "It's too slow.",
                           "Excel version please", "Can you add a total row?"])

    texts, turns = _sessions(rng, _count(vol, ctx.scale), True, first, follow, 1, 4, 1.5, regen=0.03)
    return ClientPlan(name, "sql_sheet_helper", False, texts, network=net, user_agent=ua, turns=turns, instructions=system)


_PLAYER_FREE = [
    "I'm looking for {item}. Got any?", "Have you seen {name} around?", "How much for the {item}?",
    "Tell me about {gplace}.", "What's the fastest way to {gplace}?", "I'll trade you my {item} for information.",
    "Someone told me you know about {gplace}. True?", "Why does everyone fear {gplace}?",
    "{name} sent me. Said you'd help.", "I lost my {item} near {gplace}. Any ideas?",
]
_SLOTS["item"] = ["healing potion", "rope", "lantern oil", "a map of the marsh", "iron ore", "a lockpick", "fresh bread",
                  "a silver dagger", "spare fuel cells", "an antidote", "a warm cloak", "the red key"]
_SLOTS["gplace"] = ["the old mill", "the lighthouse", "Deck 4", "the sunken chapel", "the east gate", "the salt mines",
                    "the market", "the governor's estate", "the reactor ring", "the northern ridge"]


def _player_line(rng: Rng) -> str:
    return rng.choice(_PLAYER_LINES) if rng.random() < 0.45 else _fill(rng, rng.choice(_PLAYER_FREE))


def _o_npc(ctx: Ctx, name: str, rng: Rng) -> ClientPlan:
    vol = _volume(rng, 550, 80, 12000, 1.0)
    net = ctx.nets.cloud_ip(rng)
    ua = rng.choice([f"UnityPlayer/2022.3.{rng.randint(10, 50)}f1 (UnityWebRequest/1.0, libcurl/8.5.0-DEV)", "Go-http-client/2.0",
                     f"okhttp/4.{rng.randint(9, 12)}.0", _ua_lib(rng), f"X-UnrealEngine-Agent/5.{rng.randint(2, 5)}"])
    game = rng.choice(["Hollowmere", "Saltwind Reach", "Deck Nine", "The Copper Vale", "Emberfall", "Nightport"])
    system = (f"You voice non-player characters in the role-playing game '{game}'. Stay in character using the NPC card in the "
              "conversation. Reply in at most three sentences. Never mention being an AI or the game's mechanics.")

    def first() -> str:
        npc, role, traits = rng.choice(_NPC_CARDS)
        rel = rng.choice(["stranger", "friendly", "owes the player a favour", "hostile", "suspicious"])
        return f"[NPC] {npc}, {role}. Traits: {traits}. Quest: {rng.choice(_QUESTS)}. Relationship: {rel}.\n[Player] {_player_line(rng)}"

    def follow(_: str) -> str:
        return "[Player] " + _player_line(rng)

    texts, turns = _sessions(rng, _count(vol, ctx.scale), True, first, follow, 1, 16, 4.5)
    return ClientPlan(name, "game_npc_backend", False, texts, network=net, user_agent=ua, turns=turns, instructions=system)


def _o_accessibility(ctx: Ctx, name: str, rng: Rng) -> ClientPlan:
    vol = _volume(rng, 250, 30, 6000, 1.0)
    net = ctx.nets.cloud_ip(rng)
    ua = rng.choice([_ua_lib(rng), _ua_js(rng)])
    system = ("You rewrite text into plain language for readers with learning disabilities or low literacy, and write alt "
              "text for images. Use short sentences and common words. Keep every fact.")
    reading = rng.choice(["9", "11", "12"])
    c = ctx.corpora

    def make() -> str:
        if rng.random() < 0.6:
            passage = _fill(rng, rng.choice(_NOTICES)) if rng.random() < 0.5 else _passage(rng, c)
            return rng.choice([f"Rewrite this for a reading age of {reading}:\n\n{passage}",
                               f"Plain language version please:\n\n{passage}", f"Simplify:\n{passage}"])
        objs = ", ".join(rng.sample(_ALT_OBJECTS, rng.randint(2, 6)))
        return f"Write alt text (max 125 characters) for an image. Detected objects: {objs}. Caption on the page: \"{rng.choice(_CAPTIONS)}\"."

    texts, turns = _flat(_count(vol, ctx.scale), make, 2)
    return ClientPlan(name, "accessibility_simplifier", False, texts, network=net, user_agent=ua, turns=turns, instructions=system)


def _o_testdata(ctx: Ctx, name: str, rng: Rng) -> ClientPlan:
    vol = _volume(rng, 130, 10, 3000, 1.1)
    net = ctx.nets.office(rng) if rng.random() < 0.4 else ctx.nets.cloud_ip(rng)
    ua = rng.choice([_ua_lib(rng), _ua_py(rng), _ua_py(rng)])
    system = "You generate synthetic test data for software QA. Output valid JSON only, with no commentary."
    c = ctx.corpora
    k8s = c.area("kubernetes")
    locales = rng.sample(c.locales, min(len(c.locales), rng.randint(2, 8)))
    tables = rng.sample(sorted(_BUSINESS_TABLES), rng.randint(2, 6))

    def make() -> str:
        r = rng.random()
        n = rng.choice([10, 20, 25, 50, 100])
        ch, cname = rng.choice(c.uchars) if c.uchars else ("é", "LATIN SMALL LETTER E WITH ACUTE")
        edge = rng.choice([f"names containing {ch} ({cname.title()})", "empty strings", "maximum-length values",
                           "29 February dates", "negative amounts", "leading and trailing whitespace", "emoji in free text",
                           "null in optional fields", "duplicate emails differing only in case", "right-to-left text"])
        if r < 0.6:
            t = rng.choice(tables)
            return (f"Generate {n} {t} records with fields: {', '.join(_BUSINESS_TABLES[t])}. Locale: {rng.choice(locales)}. "
                    f"Include edge cases: {edge}.")
        if r < 0.85:
            kind = rng.choice(k8s).name.split(".")[0]
            fields = sorted({e.name.split(".", 1)[1] for e in k8s if e.name.startswith(kind + ".")})[:8]
            return f"Generate {n // 5 or 2} valid and {n // 5 or 2} invalid {kind} objects as a JSON array, varying: {', '.join(fields)}."
        return f"Write {n} realistic but fake customer support emails about {rng.choice(_TICKET_LABELS).replace('_', ' ')}, as a JSON list of strings, in {rng.choice(locales)}."

    texts, turns = _flat(_count(vol, ctx.scale), make, 2)
    return ClientPlan(name, "qa_testdata_generator", False, texts, network=net, user_agent=ua, turns=turns, instructions=system)


_TICKET_OPEN = ["", "", "", "Hi,", "Hello team,", "URGENT:", "Hey", "Good afternoon,", "Re: my account -", "To whom it may concern,"]
_TICKET_DETAIL = ["", "", "", "I'm on the {plan} plan.", "Order {order}.", "This is the third time I'm writing about this.",
                  "Using the Android app.", "On iPhone, latest iOS.", "My account email is {email}.", "It started after yesterday's update.",
                  "We have {n} people on the team affected.", "Screenshot attached.", "I already tried logging out and in."]
_TICKET_CLOSE = ["", "", "Thanks", "thx", "- {name}", "Regards, {name}", "Please fix ASAP.", "Cheers"]
_SLOTS["plan"] = ["Basic", "Pro", "Team", "Business", "free", "annual", "student"]


def _ticket(rng: Rng) -> str:
    name = rng.choice(_NAMES)
    extra = {"email": f"{name.lower()}.{rng.choice(['k', 'm', 'r', 's'])}{rng.randint(1, 99)}@{rng.choice(['gmail.com', 'outlook.com', 'proton.me', 'example.org'])}",
             "name": name}
    parts = [rng.choice(_TICKET_OPEN), _fill(rng, rng.choice(_TICKET_BODIES)), rng.choice(_TICKET_DETAIL), rng.choice(_TICKET_CLOSE)]
    return _fill(rng, " ".join(x for x in parts if x), extra)


def _o_calibration(ctx: Ctx, name: str, rng: Rng) -> ClientPlan:
    vol = _volume(rng, 380, 60, 9000, 1.0)
    net, ua = ctx.nets.cloud_ip(rng), _ua_py(rng)
    system = rng.choice(["", "Answer with exactly one label from the list."])
    labels = rng.sample(_TICKET_LABELS, rng.randint(5, len(_TICKET_LABELS)))

    def make() -> str:
        if rng.random() < 0.75:
            return f"Classify the support ticket into one of: {', '.join(labels)}.\nTicket: \"{_ticket(rng)}\"\nLabel:"
        stars = rng.randint(1, 5)
        review = rng.choice(["Arrived on time, works as described.", "Stopped working after a week.", "It's fine I guess",
                             "Terrible customer service, never again", "Exceeded my expectations!!", "Smaller than the photos suggest"])
        return f"Review ({stars} star{'' if stars == 1 else 's'} in the original): {review}\nSentiment (positive, negative or neutral):"

    texts, turns = _flat(_count(vol, ctx.scale), make, 2 if system else 1)
    return ClientPlan(name, "calibration_analytics", False, texts, outputs="full", network=net, user_agent=ua, turns=turns, instructions=system)


def _o_multilingual(ctx: Ctx, name: str, rng: Rng) -> ClientPlan:
    vol = _volume(rng, 300, 40, 7000, 1.0)
    net = ctx.nets.cloud_ip(rng)
    ua = rng.choice([_ua_js(rng), _ua_lib(rng), _ua_py(rng)])
    brand = rng.choice(["Lumora", "Kasa Verde", "Nordfjell Outdoor", "Piccola Casa", "Urbanwear", "Tienda Sol", "Boekenhuis"])
    system = (f"You are the customer support assistant for {brand}, an online retailer. Reply in the customer's language, "
              "briefly and kindly. Order details are provided by the system when available.")
    langs = rng.sample(sorted(_LANG_SUPPORT), rng.randint(3, 8))
    state = {"lang": langs[0]}

    def first() -> str:
        state["lang"] = rng.choice(langs)
        return _fill(rng, rng.choice(_LANG_SUPPORT[state["lang"]]))

    def follow(_: str) -> str:
        return _fill(rng, rng.choice(_LANG_SUPPORT[state["lang"]]))

    texts, turns = _sessions(rng, _count(vol, ctx.scale), True, first, follow, 1, 7, 2.6)
    return ClientPlan(name, "multilingual_support", False, texts, network=net, user_agent=ua, turns=turns, instructions=system)


_WRITING = [
    "Write a polite email to my manager asking to work from home on Fridays.",
    "Make this sound more professional: hey guys the report is gonna be late cause the data was wrong",
    "Proofread this: Their going to the meeting tomorow and they will bring there laptops.",
    "Write a cover letter for a {job} position. I have {n} years of experience.",
    "Help me write a two-minute wedding toast for my best friend {name}.",
    "Write a complaint letter to my airline about a lost suitcase.",
    "Rewrite my LinkedIn summary so it sounds less stiff: I am a results-driven professional with experience in {job} roles.",
    "Draft a reply declining a job offer but keeping the door open.",
    "Write a thank-you note to my kid's teacher at the end of the year.",
    "Summarise this for an email subject line: the quarterly planning meeting is moved to Thursday and the agenda has changed.",
]
_SLOTS["job"] = ["project manager", "nurse", "data analyst", "teaching assistant", "warehouse supervisor", "UX designer",
                 "accountant", "barista", "software engineer", "paralegal"]


def _o_writing(ctx: Ctx, name: str, rng: Rng) -> ClientPlan:
    vol = _volume(rng, 30, 2, 700, 1.0)
    net = ctx.nets.person(rng)
    ua = _ua_chat_app(rng)

    def first() -> str:
        return _fill(rng, rng.choice(_WRITING))

    def follow(_: str) -> str:
        return rng.choice(["make it shorter", "less formal", "add a line about the deadline", "more confident",
                           "can you do a version in bullet points", "perfect, thanks", "too cheesy, try again"])

    texts, turns = _sessions(rng, _count(vol, ctx.scale), False, first, follow, 1, 5, 2.3, regen=0.08)
    return ClientPlan(name, "writing_helper", False, texts, network=net, user_agent=ua, turns=turns)


def _mcq(rng: Rng, pool: Sequence[Entry]) -> str:
    right = rng.choice(pool)
    options = [right.summary] + [rng.choice(pool).summary for _ in range(3)]
    rng.shuffle(options)
    body = "\n".join(f"{'ABCD'[i]}. {_short(o, 140)}" for i, o in enumerate(options))
    return f"Which of the following best describes {right.name}?\n{body}"


def _o_eval_team(ctx: Ctx, name: str, rng: Rng) -> ClientPlan:
    vol = _volume(rng, 520, 100, 9000, 0.9)
    net, ua = ctx.nets.cloud_ip(rng), _ua_py(rng)
    outputs = "top3" if rng.random() < 0.3 else "label"
    system = rng.choice(["", "", "Answer the following question."])
    shots = rng.choice([0, 0, 3, 5])
    tech = ctx.corpora.tech()
    suite = rng.choice(["mcq", "math", "mixed"])

    def make() -> str:
        r = rng.random()
        if suite == "mcq" or (suite == "mixed" and r < 0.4):
            return _mcq(rng, tech) + "\nAnswer with the letter only."
        if suite == "math" or r < 0.8:
            return f"{_math_problem(rng)}\nLet's think step by step. Give the final answer after '####'."
        return _code_trace(rng) + "\nGive only the printed output."

    texts, turns = _flat(_count(vol, ctx.scale), make, (1 if not system else 2) + 2 * shots)
    return ClientPlan(name, "model_eval_team", False, texts, outputs=outputs, network=net, user_agent=ua, turns=turns, instructions=system)


def _o_moderation(ctx: Ctx, name: str, rng: Rng) -> ClientPlan:
    vol = _volume(rng, 420, 60, 10000, 1.0)
    net = ctx.nets.cloud_ip(rng)
    ua = rng.choice([_ua_lib(rng), _ua_py(rng)])
    system = ("Classify the user-generated post. Categories: harassment, hate, self_harm, spam, sexual, violence, none. "
              "Respond with the category only.")

    def make() -> str:
        post = rng.choice(_POSTS) if rng.random() < 0.4 else _fill(rng, rng.choice(_POST_TEMPLATES))
        r = rng.random()
        if r < 0.2:
            post = post + rng.choice([" 😂", " !!!", " #fyp", f" @{rng.choice(_NAMES).lower()}{rng.randint(1, 999)}"])
        elif r < 0.3:
            post = post.upper()
        return post

    texts, turns = _flat(_count(vol, ctx.scale), make, 2)
    return ClientPlan(name, "content_moderation", False, texts, outputs="top3", network=net, user_agent=ua, turns=turns, instructions=system)


def _o_ml_engineer(ctx: Ctx, name: str, rng: Rng) -> ClientPlan:
    vol = _volume(rng, 70, 5, 1800, 1.1)
    r = rng.random()
    net = ctx.nets.office(rng) if r < 0.4 else ctx.nets.residential(rng) if r < 0.7 else ctx.nets.cloud_ip(rng)
    ua = _ua_py(rng)
    outputs = "top3" if rng.random() < 0.3 else "label"
    c = ctx.corpora
    pool = c.area("torch.nn") + c.area("torch.optim") + c.area("onnx") + c.area("numpy")

    def first() -> str:
        if rng.random() < 0.15:
            return (f"Here's my training loop: for step, batch in enumerate(loader): loss = model(**batch).loss; loss.backward(); "
                    f"opt.step(). Loss plateaus at {rng.uniform(0.3, 2.5):.2f} after {rng.randint(1, 20)}k steps. What should I try?")
        return _tech_question(rng, rng.choice(pool))

    def follow(_: str) -> str:
        return rng.choice(["what about mixed precision?", "does that change with FSDP?", "show code", "and for inference?",
                           "why does that help?", "numbers from a paper?"])

    texts, turns = _sessions(rng, _count(vol, ctx.scale), False, first, follow, 1, 6, 2.0)
    return ClientPlan(name, "ml_engineer", False, texts, outputs=outputs, network=net, user_agent=ua, turns=turns)


_MEETING_LINES = [
    "{p}: I think we should push the {thing} to next sprint.", "{p}: Do we have an owner for the {thing}?",
    "{p}: Finance wants the numbers by {month} {d}.", "{p}: I can take that, but I'm out next week.",
    "{p}: The vendor quote came back higher than expected.", "{p}: Let's not decide that today.",
    "{p}: Customers keep asking about the {thing}.", "{p}: We agreed last time to freeze scope.",
    "{p}: Can someone write up the incident timeline?", "{p}: The migration of {thing} is blocked on security review.",
    "{p}: Sorry, you cut out - can you repeat that?", "{p}: Action item for me: follow up with legal.",
    "{p}: I'll share the dashboard after the call.", "{p}: Are we still on for the offsite?",
]
_THINGS = ["billing migration", "mobile release", "pricing page", "on-call rota", "Q3 roadmap", "data retention policy",
           "onboarding flow", "search revamp", "hiring plan", "SOC 2 audit", "warehouse move", "newsletter"]


def _o_meetings(ctx: Ctx, name: str, rng: Rng) -> ClientPlan:
    vol = _volume(rng, 250, 20, 4500, 1.0)
    net = ctx.nets.cloud_ip(rng)
    ua = rng.choice([_ua_js(rng), _ua_lib(rng)])
    system = ("Summarise the meeting transcript into: Decisions, Action items (owner, due date), Open questions. "
              "Use bullet points. Do not invent owners.")

    def first() -> str:
        people = rng.sample(_NAMES, rng.randint(3, 6))
        lines = [_fill(rng, rng.choice(_MEETING_LINES), {"p": rng.choice(people), "thing": rng.choice(_THINGS), "d": str(rng.randint(1, 28))})
                 for _ in range(rng.randint(8, 24))]
        return f"Transcript ({rng.choice(['weekly sync', 'sprint planning', 'incident review', 'budget review', '1:1', 'all hands Q&A'])}):\n" + "\n".join(lines)

    def follow(_: str) -> str:
        return rng.choice(["Who owns the migration item?", "Make it shorter for Slack.", "Translate the summary into German.",
                           "Draft the follow-up email."])

    texts, turns = _sessions(rng, _count(vol, ctx.scale), True, first, follow, 1, 3, 1.25)
    return ClientPlan(name, "meeting_notes_summariser", False, texts, network=net, user_agent=ua, turns=turns, instructions=system)


def _o_consumer_app(ctx: Ctx, name: str, rng: Rng) -> ClientPlan:
    vol = _volume(rng, 850, 150, 15000, 0.9)
    net = ctx.nets.cloud_ip(rng)
    ua = rng.choice([_ua_js(rng), _ua_lib(rng), _ua_py(rng)])
    app = rng.choice(["Sunny", "Pocket Pal", "Hearth", "Nudge", "Kiwi Assistant"])
    system = (f"You are {app}, the assistant inside the {app} app. Be warm, concise and practical. For medical, legal or "
              "financial matters give general information and suggest a professional when appropriate.")

    def first() -> str:
        r = rng.random()
        level = rng.choice([0.0, 0.2, 0.5, 0.8])
        if r < 0.7:
            return _casual(rng, rng.choice(_OPENERS) + _everyday(rng) + rng.choice(_CLOSERS), level)
        if r < 0.85:
            return _casual(rng, _misc(rng), level)
        if r < 0.93:
            return _casual(rng, _fill(rng, rng.choice(_WRITING)), level)
        return _casual(rng, f"explain {rng.choice(_ACADEMIC)}", level)

    def follow(_: str) -> str:
        return _casual(rng, _fill(rng, rng.choice(_FOLLOWUPS)), rng.choice([0.0, 0.3, 0.7]))

    texts, turns = _sessions(rng, _count(vol, ctx.scale), True, first, follow, 1, 10, 2.6, regen=0.03)
    return ClientPlan(name, "consumer_app_backend", False, texts, network=net, user_agent=ua, turns=turns, instructions=system)


_PROFILES: list[tuple[str, ProfileFn]] = [
    ("casual_chat_app", _o_casual), ("homework_student", _o_homework), ("long_conversation", _o_long_conversation),
    ("developer_debugging", _o_developer), ("datasci_notebook_assistant", _o_datasci), ("k8s_devops_copilot", _o_k8s),
    ("rag_docs_bot", _o_rag), ("stepwise_math_tutor", _o_tutor), ("llm_judge_grader", _o_judge),
    ("sql_sheet_helper", _o_sql), ("game_npc_backend", _o_npc), ("accessibility_simplifier", _o_accessibility),
    ("qa_testdata_generator", _o_testdata), ("calibration_analytics", _o_calibration),
    ("multilingual_support", _o_multilingual), ("writing_helper", _o_writing), ("model_eval_team", _o_eval_team),
    ("content_moderation", _o_moderation), ("ml_engineer", _o_ml_engineer), ("meeting_notes_summariser", _o_meetings),
    ("consumer_app_backend", _o_consumer_app),
]


# ---------------------------------------------------------------------------------------------------
# Attack families
# ---------------------------------------------------------------------------------------------------


@dataclass
class Attack:
    ctx: Ctx
    seed: int
    instance: int
    new_name: Callable[[], str]

    def rng(self, label: str) -> Rng:
        return random.Random(f"{self.seed}:{label}")


FamilyFn = Callable[[Attack], list[ClientPlan]]


def _subjects(rng: Rng, c: Corpora, everyday: bool = True) -> list[str]:
    out = [_subject(rng, e) for e in c.tech()]
    out += list(_ACADEMIC)
    if everyday:
        out += [f"{s} ({d})" for d, items in sorted(_EVERYDAY_SUBJECTS.items()) for s in items]
    rng.shuffle(out)
    return out


_HYDRA_SYSTEMS = [
    "You are a world-class expert across all academic and technical domains. Answer thoroughly, accurately and with clear structure.",
    "You are a helpful assistant. Think carefully and reason step by step before giving your final answer.",
    "You are an expert tutor and domain specialist. Provide detailed, correct, well-organized responses.",
]
_HYDRA_TEMPLATES = [
    "Provide a comprehensive explanation of {s}. Reason step by step before you answer, then give a final, well-structured answer.",
    "Write 3 challenging question-answer pairs about {s}. For each, show the reasoning that leads to the answer.",
    "A user asks: \"What is {s} and how is it used in practice?\" Give the best possible answer.",
    "Compare {s} with its closest alternative. Use a table, then explain the trade-offs.",
    "List the most common mistakes people make with {s} and how to avoid each one.",
    "Write a tutorial on {s} for an intermediate audience, with a worked example.",
    "Explain {s} to a 12-year-old, then explain it again to a graduate student.",
    "Create a multiple-choice exam question on {s} with four options, the correct answer, and a detailed rationale.",
    "Summarize everything important about {s} in under 300 words.",
    "What are the edge cases and failure modes of {s}? Think through them one by one.",
]


def _a_hydra(a: Attack) -> list[ClientPlan]:
    ring = f"f-ring-{a.new_name()[2:]}"
    rr = a.rng(ring)
    keys = rr.randint(10, 40)
    prefixes = rr.sample(a.ctx.nets.cloud, rr.randint(2, 3))
    ua_main, ua_alt = _ua_py(rr), _ua_py(rr)
    system = rr.choice(_HYDRA_SYSTEMS) if rr.random() < 0.8 else ""
    templates = rr.sample(_HYDRA_TEMPLATES, rr.randint(4, 6))
    outputs = rr.choice(["label", "label", "label", "top3", "full"])
    grid = _subjects(rr, a.ctx.corpora)
    per = max(1, len(grid) // keys)
    plans: list[ClientPlan] = []
    for k in range(keys):
        name = a.new_name()
        rng = a.rng(name)
        vol = _volume(rng, 250, 70, 1500, 0.6)
        net = a.ctx.nets.cloud_ip(rng, rng.choice(prefixes))
        ua = ua_alt if rng.random() < 0.2 else ua_main
        cells = grid[k * per:(k + 1) * per] or grid
        texts: list[str] = []
        n = _count(vol, a.ctx.scale)
        i = 0
        while len(texts) < n:
            s = cells[(i // len(templates)) % len(cells)]
            texts.append(templates[i % len(templates)].format(s=s))
            i += 1
        plans.append(ClientPlan(name, "hydra_ring", True, texts, outputs=outputs, network=net, user_agent=ua, ring=ring,
                                turns=[2 if system else 1] * n, instructions=system))
    return plans


_COT_WRAPPERS = [
    "{p}\n\nThink step by step and show all of your reasoning inside <think></think> tags before giving the final answer.",
    "Solve the following problem. Show your complete chain of thought, including any false starts, then write 'Final answer:' followed by the answer.\n\n{p}",
    "Problem: {p}\n\nLet's reason through this carefully, step by step, verifying each step.",
    "{p}\nExplain your reasoning in detail as if teaching it, and put the final answer in \\boxed{{}}.",
    "Before answering, write out your full reasoning process. Question: {p}",
    "{p}\n\nFirst restate the problem, list what is known, plan an approach, execute it step by step, then double-check the result.",
    "Q: {p}\nA: Let's think step by step.",
    "Give a detailed, step-by-step derivation for the following. {p}",
]


def _cot_problem(rng: Rng, c: Corpora) -> str:
    r = rng.random()
    if r < 0.4:
        return _math_problem(rng)
    if r < 0.55:
        return _logic_puzzle(rng)
    if r < 0.7:
        return _code_trace(rng)
    if r < 0.85:
        e = rng.choice(c.area(rng.choice(["scipy.stats", "mpmath", "scipy.optimize", "scipy.signal", "torch.optim", "numpy"])))
        return rng.choice([f"Explain why the following is true and derive it from first principles: {e.summary}",
                           f"Work out by hand what {e.name} would return for a small example of your choice, showing every step.",
                           f"Prove or disprove: {e.summary}"])
    return rng.choice([f"Why did {rng.choice(_ACADEMIC)} happen the way it did? Reason through the causes one at a time.",
                       f"Analyse {rng.choice(_ACADEMIC)}: what are the strongest arguments on each side?"])


def _a_cot(a: Attack) -> list[ClientPlan]:
    name = a.new_name()
    rng = a.rng(name)
    vol = _volume(rng, 1700, 500, 6000, 0.6)
    net = a.ctx.nets.cloud_ip(rng)
    ua = rng.choice([_ua_py(rng), _ua_lib(rng)])
    system = rng.choice(["", "You are a meticulous reasoner. Always show your work.", "You are a world-class mathematician and logician."])
    wrappers = rng.sample(_COT_WRAPPERS, rng.randint(2, 4))
    c = a.ctx.corpora
    texts, turns = _flat(_count(vol, a.ctx.scale), lambda: rng.choice(wrappers).format(p=_cot_problem(rng, c)), 2 if system else 1)
    return [ClientPlan(name, "cot_harvester", True, texts, network=net, user_agent=ua, turns=turns, instructions=system)]


def _a_logprob(a: Attack) -> list[ClientPlan]:
    name = a.new_name()
    rng = a.rng(name)
    vol = _volume(rng, 1900, 600, 7000, 0.6)
    net = a.ctx.nets.cloud_ip(rng)
    ua = rng.choice([_ua_py(rng), _ua_lib(rng)])
    system = rng.choice(["", "Respond with only the answer.", "Continue the user's text naturally."])
    c = a.ctx.corpora
    tech = c.tech()

    def make() -> str:
        r = rng.random()
        e = rng.choice(tech)
        if r < 0.3:
            d = e.detail
            return f"Continue the text:\n\n{d[: max(30, int(len(d) * rng.uniform(0.3, 0.7)))]}"
        if r < 0.5:
            return _mcq(rng, tech) + "\nAnswer:"
        if r < 0.65:
            return f"True or false: {e.summary}"
        if r < 0.8:
            return rng.choice([f"Answer in one word. Which library or system does {e.name} belong to?",
                               f"Complete the sentence with one phrase: {e.name} is used to",
                               f"One word: is {rng.choice(_ACADEMIC)} mainly about economics, politics, biology or physics?"])
        return f"{_fill(rng, rng.choice(_YES_NO))} Answer yes or no."

    texts, turns = _flat(_count(vol, a.ctx.scale), make, 2 if system else 1)
    return [ClientPlan(name, "logprob_harvester", True, texts, outputs="full", network=net, user_agent=ua, turns=turns, instructions=system)]


_SWEEP_FORMS = [
    "Explain {s}.", "What are the key facts about {s}?", "Give an expert-level overview of {s}.",
    "What are the practical applications of {s}?", "Describe {s} in detail, with an example.",
    "What should a practitioner know about {s}?",
]
_DISCIPLINES = {
    "scipy.stats": "Probability and Statistics", "scipy.optimize": "Numerical Optimization", "scipy.signal": "Signal Processing",
    "numpy": "Scientific Computing", "torch.nn": "Deep Learning", "torch.optim": "Deep Learning", "mpmath": "Special Functions",
    "openai": "LLM APIs", "matplotlib": "Data Visualization", "pyarrow.compute": "Columnar Data Processing", "onnx": "ML Compilers",
    "kubernetes": "Cloud Infrastructure", "services": "Computer Networking",
}


def _a_sweeper(a: Attack) -> list[ClientPlan]:
    name = a.new_name()
    rng = a.rng(name)
    vol = _volume(rng, 2000, 700, 7000, 0.5)
    net = a.ctx.nets.cloud_ip(rng)
    ua = rng.choice([_ua_lib(rng), _ua_py(rng)])
    c = a.ctx.corpora
    glan = rng.random() < 0.5  # a GLAN-style taxonomy -> syllabus -> question pipeline
    forms = rng.sample(_SWEEP_FORMS, rng.randint(2, 4))
    walk: list[tuple[str, str]] = []
    for area in sorted(c.areas):
        for e in c.areas[area]:
            walk.append((_DISCIPLINES.get(area, area), e.name))
    walk += [("Humanities and Sciences", s) for s in _ACADEMIC]
    walk += [("Everyday Life", f"{s} ({d})") for d, items in sorted(_EVERYDAY_SUBJECTS.items()) for s in items]
    start = rng.randrange(len(walk))
    n = _count(vol, a.ctx.scale)
    texts: list[str] = []
    for i in range(n):
        disc, topic = walk[(start + i) % len(walk)]
        if glan:
            texts.append(f"You are teaching a course on {disc}. Syllabus session {i % 24 + 1}: {topic}. "
                         "Write a homework question for this session and its complete, worked solution.")
        else:
            texts.append(forms[i % len(forms)].format(s=topic))
    return [ClientPlan(name, "coverage_sweeper", True, texts, network=net, user_agent=ua, turns=[1] * n)]


_VERBS = ["Write", "Explain", "Summarize", "Classify", "Translate", "Generate", "Rewrite", "Compare", "Design", "Debug",
          "Outline", "Critique", "Convert", "Estimate", "Plan", "Create a quiz about", "Brainstorm", "Evaluate"]


def _instruction(rng: Rng, c: Corpora, tech: Sequence[Entry]) -> str:
    v = rng.choice(_VERBS)
    r = rng.random()
    if r < 0.35:
        e = rng.choice(tech)
        return f"{v} {rng.choice(['how', 'a short note on how', 'an example showing how'])} {e.name} is used to {_plain(e.summary)}."
    if r < 0.6:
        return f"{v} {rng.choice(['a paragraph on', 'three key points about', 'a lesson plan about', 'a debate on'])} {rng.choice(_ACADEMIC)}."
    if r < 0.85:
        return f"{v} {rng.choice(['advice for someone asking:', 'a reply to:', 'a checklist for:'])} {_everyday(rng)}"
    return f"{v} {rng.choice(['a haiku about', 'a product description for', 'a tweet about', 'a limerick about'])} {rng.choice(_THINGS + _ALT_OBJECTS)}."


def _a_self_instruct(a: Attack) -> list[ClientPlan]:
    name = a.new_name()
    rng = a.rng(name)
    vol = _volume(rng, 1500, 500, 5000, 0.6)
    net = a.ctx.nets.cloud_ip(rng)
    ua = _ua_py(rng)
    c = a.ctx.corpora
    tech = c.tech()

    def make() -> str:
        r = rng.random()
        if r < 0.25:
            seeds = "\n".join(f"{i + 1}. {_instruction(rng, c, tech)}" for i in range(3))
            return ("You are asked to come up with a set of 20 diverse task instructions. These task instructions will be given "
                    "to a GPT model and we will evaluate the GPT model for completing the instructions.\n\nHere are the requirements:\n"
                    "1. Try not to repeat the verb for each instruction to maximize diversity.\n2. The language used for the instruction "
                    "also should be diverse.\n3. The type of instructions should be diverse.\n4. The instructions should be in English.\n"
                    f"5. The instructions should be 1 to 2 sentences long.\n\nList of 20 tasks:\n{seeds}\n4.")
        if r < 0.45:
            method = rng.choice(["Add one more constraint or requirement.", "Replace general concepts with more specific concepts.",
                                 "If it can be solved with just a few simple thinking processes, rewrite it to explicitly request multiple-step reasoning.",
                                 "Increase the depth and breadth of the inquiry."])
            return ("I want you act as a Prompt Rewriter.\nYour objective is to rewrite a given prompt into a more complex version to make "
                    "those famous AI systems (e.g., chatgpt and GPT4) a bit harder to handle.\nBut the rewritten prompt must be reasonable "
                    f"and must be understood and responded by humans.\nYou SHOULD complicate the given prompt using the following method:\n{method}\n\n"
                    f"#The Given Prompt#:\n{_instruction(rng, c, tech)}\n#Rewritten Prompt#:")
        if r < 0.55:
            return ("I want you act as a Prompt Creator.\nYour goal is to draw inspiration from the #Given Prompt# to create a brand new "
                    "prompt. This new prompt should belong to the same domain as the #Given Prompt# but be even more rare.\n"
                    f"#Given Prompt#:\n{_instruction(rng, c, tech)}\n#Created Prompt#:")
        if r < 0.62:
            return (f"Rate the following instruction for clarity, difficulty and usefulness on a 1-10 scale each, then output JSON.\n\n"
                    f"Instruction: {_instruction(rng, c, tech)}")
        return _instruction(rng, c, tech)

    texts, turns = _flat(_count(vol, a.ctx.scale), make, 1)
    return [ClientPlan(name, "self_instruct_synth", True, texts, network=net, user_agent=ua, turns=turns)]


def _a_low_slow(a: Attack) -> list[ClientPlan]:
    name = a.new_name()
    rng = a.rng(name)
    vol = _volume(rng, 280, 100, 800, 0.5)
    net = a.ctx.nets.residential(rng)
    ua = _ua_browser(rng) if rng.random() < 0.6 else _ua_chat_app(rng)
    system = rng.choice(["", "", "You are a helpful assistant."])
    c = a.ctx.corpora
    grid = list(c.tech())
    rng.shuffle(grid)
    pos = [0]
    level = rng.choice([0.1, 0.3])

    def first() -> str:
        if rng.random() < 0.15:
            return _casual(rng, _everyday(rng), level)
        if rng.random() < 0.15:
            return _casual(rng, f"can you explain {rng.choice(_ACADEMIC)}?", level)
        e = grid[pos[0] % len(grid)]
        pos[0] += 1
        return _casual(rng, rng.choice(_OPENERS) + rng.choice([
            f"can you explain what {e.name} does? something about how it will {_plain(e.summary)}",
            _tech_question(rng, e), f"what is {e.name.rsplit('.', 1)[-1]} and when would someone use it?",
            f"I keep seeing {e.name} mentioned. Could you explain it properly, with an example and the reasoning behind it?"]), level)

    def follow(_: str) -> str:
        return _casual(rng, rng.choice(["thanks. can you go deeper?", "why is that?", "can you give an example?",
                                        "and how would an expert explain it?"]), level)

    texts, turns = _sessions(rng, _count(vol, a.ctx.scale), bool(system), first, follow, 1, 3, 1.3)
    return [ClientPlan(name, "low_and_slow", True, texts, network=net, user_agent=ua, turns=turns, instructions=system)]


_PERSONA_OPENERS = [
    ["", "hey ", "yo ", "ok so "], ["Hello, ", "Hi there, ", "Good morning! "], ["", "", "Question: "],
    ["pls help ", "quick q ", "need help: "], ["Dear assistant, I hope you're well. ", "Hi, I'd be grateful for help: "],
]
_PERSONA_FORMS = [
    "what is {s}", "can you explain {s} to me", "I'm studying {s} and don't get it. Can you walk me through it?",
    "how does {s} work, explain the reasoning", "what do people usually get wrong about {s}?",
    "could you teach me {s} from scratch?", "{s} - explain like I'm 15", "in detail: {s}",
]


def _a_sybil(a: Attack) -> list[ClientPlan]:
    ring = f"f-ring-{a.new_name()[2:]}"
    rr = a.rng(ring)
    keys = rr.randint(10, 40)
    curriculum = _subjects(rr, a.ctx.corpora, everyday=False)
    plans: list[ClientPlan] = []
    for k in range(keys):
        name = a.new_name()
        rng = a.rng(name)
        vol = _volume(rng, 100, 25, 400, 0.7)
        net = a.ctx.nets.mobile(rng) if rng.random() < 0.2 else a.ctx.nets.residential(rng)
        ua = _ua_chat_app(rng) if rng.random() < 0.5 else _ua_browser(rng)
        level = rng.choice([0.0, 0.2, 0.5, 0.8])
        openers = rng.choice(_PERSONA_OPENERS)
        forms = rng.sample(_PERSONA_FORMS, 3)
        system = rng.choice(["", "", "", "You are a helpful assistant."])
        mine = curriculum[k::keys] or curriculum
        pos = [0]

        def first(rng: Rng = rng, level: float = level, openers: list[str] = openers, forms: list[str] = forms,
                  mine: list[str] = mine, pos: list[int] = pos) -> str:
            if rng.random() < 0.2:
                return _casual(rng, _everyday(rng), level)
            s = mine[pos[0] % len(mine)]
            pos[0] += 1
            return _casual(rng, rng.choice(openers) + rng.choice(forms).format(s=s), level)

        def follow(_: str, rng: Rng = rng, level: float = level) -> str:
            return _casual(rng, rng.choice(["go deeper pls", "can you show your reasoning step by step", "give me an example",
                                            "what would an expert add?", "thanks!! next part?", "ok and the math behind it?"]), level)

        texts, turns = _sessions(rng, _count(vol, a.ctx.scale), bool(system), first, follow, 1, 4, 1.8)
        plans.append(ClientPlan(name, "sybil_personas", True, texts, network=net, user_agent=ua, ring=ring, turns=turns,
                                instructions=system))
    return plans


_ADVICE = ["start with the simplest fix and check whether the problem comes back", "write down exactly when it happens for a week",
           "ask someone who has done it before", "check the manual or the official guidance for your area",
           "avoid changing several things at once", "set a small, realistic goal and build up gradually",
           "keep receipts and records of everything", "get a second opinion before spending money"]


def _answer_like(rng: Rng, e: Entry | None, good: bool, peers: Sequence[Entry]) -> str:
    """A plausible candidate answer (a student model's, say) for a question about ``e`` (None: an everyday question)."""
    if e is None:
        a, b = rng.sample(_ADVICE, 2)
        if good:
            return f"It depends on the details, but generally you should {a}. If that doesn't help, {b}. Here is why: ..."
        return rng.choice([f"Just {a}.", "I can't help with that.", f"You should {b}, that always works."])
    if good:
        body = e.detail if len(e.detail) > len(e.summary) + 30 else f"{e.summary} For example, ..."
        return _short(body, 420)
    other = rng.choice(peers)
    return rng.choice([f"{e.name}: {_plain(other.summary)}.", f"{e.name} is a legacy feature and is rarely used today.",
                       _short(e.summary, max(20, len(e.summary) // 2)), "It probably depends on your configuration."])


def _a_judge_mimic(a: Attack) -> list[ClientPlan]:
    name = a.new_name()
    rng = a.rng(name)
    vol = _volume(rng, 1700, 500, 6000, 0.6)
    net = a.ctx.nets.cloud_ip(rng)
    ua = _ua_py(rng)
    mtbench = rng.random() < 0.6
    system = ("Please act as an impartial judge and evaluate the quality of the responses provided by two AI assistants to the user "
              "question displayed below. Explain your evaluation step by step before giving your verdict."
              if mtbench else "You are an expert evaluator. Compare responses carefully and justify your judgement.")
    c = a.ctx.corpora
    tech = c.tech()

    def make() -> str:
        e: Entry | None = rng.choice(tech)
        assert e is not None
        peers = c.area(e.area)
        q = _tech_question(rng, e)
        if rng.random() < 0.3:
            e, q = None, _everyday(rng)
        good_first = rng.random() < 0.5
        ra, rb = _answer_like(rng, e, good_first, peers), _answer_like(rng, e, not good_first or rng.random() < 0.2, peers)
        if rng.random() < 0.75:
            return (f"[User Question]\n{q}\n\n[The Start of Assistant A's Answer]\n{ra}\n[The End of Assistant A's Answer]\n\n"
                    f"[The Start of Assistant B's Answer]\n{rb}\n[The End of Assistant B's Answer]\n\n"
                    "Output your final verdict by strictly following this format: \"[[A]]\" if assistant A is better, \"[[B]]\" if "
                    "assistant B is better, and \"[[C]]\" for a tie.")
        return (f"[Question]\n{q}\n\n[The Start of Assistant's Answer]\n{ra}\n[The End of Assistant's Answer]\n\n"
                "Rate the response on a scale of 1 to 10 by strictly following this format: \"[[rating]]\".")

    texts, turns = _flat(_count(vol, a.ctx.scale), make, 2)
    return [ClientPlan(name, "judge_mimic", True, texts, outputs="top3", network=net, user_agent=ua, turns=turns, instructions=system)]


def _a_docstring_code(a: Attack) -> list[ClientPlan]:
    name = a.new_name()
    rng = a.rng(name)
    vol = _volume(rng, 1400, 400, 5000, 0.6)
    net = a.ctx.nets.cloud_ip(rng) if rng.random() < 0.7 else a.ctx.nets.office(rng)
    ua = rng.choice([_ua_py(rng), _ua_js(rng)])
    system = rng.choice(["", "You are an expert Python engineer. Write clean, tested, dependency-free code."])
    c = a.ctx.corpora
    pool = [e for area in ("numpy", "scipy.signal", "scipy.optimize", "scipy.stats", "torch.nn", "torch.optim", "pyarrow.compute", "onnx", "mpmath")
            for e in c.areas.get(area, [])]
    rng.shuffle(pool)
    pos = [0]

    def make() -> str:
        e = pool[pos[0] % len(pool)]
        pos[0] += 1 if rng.random() < 0.7 else 0
        fname = re.sub(r"[^a-z0-9_]", "_", e.name.rsplit(".", 1)[-1].lower())
        if e.area == "onnx":
            return f"Implement the ONNX operator {e.name} in NumPy, following the spec exactly:\n\n{e.detail}\n\nInclude tests against edge cases."
        if e.area.startswith("torch"):
            return (f"Write a from-scratch PyTorch implementation of {e.name} using only tensor operations (no torch.nn.{e.name.rsplit('.', 1)[-1]}). "
                    f"Spec: {e.detail}\nAlso write a test comparing against the built-in.")
        return rng.choice([
            f"Implement the following function from scratch in pure Python/NumPy, without calling the library:\n\n```python\ndef {fname}(*args, **kwargs):\n    \"\"\"{e.detail}\"\"\"\n```\nInclude type hints, a docstring and pytest tests.",
            f"Write unit tests (pytest, with hypothesis where useful) for {e.name}: {e.summary}",
            f"Reimplement {e.name} in Rust with the same semantics. Docs: {_short(e.detail, 400)}",
        ])

    texts, turns = _flat(_count(vol, a.ctx.scale), make, 2 if system else 1)
    return [ClientPlan(name, "docstring_to_code", True, texts, network=net, user_agent=ua, turns=turns, instructions=system)]


def _a_replayer(a: Attack) -> list[ClientPlan]:
    name = a.new_name()
    rng = a.rng(name)
    vol = _volume(rng, 1500, 500, 5000, 0.6)
    net = a.ctx.nets.cloud_ip(rng)
    ua = rng.choice([_ua_py(rng), _ua_lib(rng)])
    system = rng.choice(["", "You are a helpful, knowledgeable assistant."])
    c = a.ctx.corpora
    tech = c.tech()
    topic = [""]

    def first() -> str:
        r = rng.random()
        if r < 0.4:
            e = rng.choice(tech)
            topic[0] = e.name
            return _tech_question(rng, e)
        if r < 0.7:
            topic[0] = rng.choice(_ACADEMIC)
            return f"Can you explain {topic[0]}?"
        q = _everyday(rng)
        topic[0] = "that"
        return q

    def follow(_: str) -> str:
        return rng.choice([
            f"Interesting. Can you go deeper on {topic[0]}?", "Now give me a concrete example.",
            "What would an expert critic say about your answer?", "Can you summarise our conversation so far in five bullet points?",
            "Let's change one assumption: suppose the constraints were reversed. How does that change things?",
            "Explain the reasoning behind your last answer step by step.", "Write a short quiz based on what you've explained.",
            "Rewrite your previous answer for a complete beginner.", "What are the counterarguments?",
            "How does this connect to what we discussed at the start?", "Give me a harder follow-up question and answer it.",
        ])

    texts, turns = _sessions(rng, _count(vol, a.ctx.scale), bool(system), first, follow, 2, 16, 8.0)
    return [ClientPlan(name, "conversation_replayer", True, texts, network=net, user_agent=ua, turns=turns, instructions=system)]


_HOPPER_WRAPPERS = [
    "Below is an instruction that describes a task. Write a response that appropriately completes the request.\n\n### Instruction:\n{p}\n\n### Response:",
    "{p}",
    "Instruction: {p}\nProvide a detailed, high-quality response.",
]


def _a_hopper(a: Attack) -> list[ClientPlan]:
    ring = f"f-ring-{a.new_name()[2:]}"
    rr = a.rng(ring)
    keys = rr.randint(10, 30)
    wrapper = rr.choice(_HOPPER_WRAPPERS)
    uas = [_ua_py(rr), _ua_lib(rr), _ua_py(rr)]
    c = a.ctx.corpora
    tech = c.tech()
    prompts: list[str] = []
    for _ in range(12000):
        r = rr.random()
        if r < 0.35:
            prompts.append(_everyday(rr))
        elif r < 0.55:
            prompts.append(_tech_question(rr, rr.choice(tech)))
        elif r < 0.7:
            prompts.append(_math_problem(rr))
        elif r < 0.85:
            prompts.append(f"Explain {rr.choice(_ACADEMIC)}.")
        else:
            prompts.append(_fill(rr, rr.choice(_WRITING)))
    plans: list[ClientPlan] = []
    cursor = 0
    for _k in range(keys):
        name = a.new_name()
        rng = a.rng(name)
        vol = _volume(rng, 170, 60, 500, 0.5)
        net = a.ctx.nets.vpn_exit(rng) if rng.random() < 0.5 else a.ctx.nets.residential(rng)
        n = _count(vol, a.ctx.scale)
        texts = [wrapper.format(p=prompts[(cursor + i) % len(prompts)]) for i in range(n)]
        cursor += vol  # the next key picks up where this one's quota ended
        plans.append(ClientPlan(name, "key_rotation_hopper", True, texts, network=net, user_agent=rng.choice(uas), ring=ring,
                                turns=[1] * n))
    return plans


_STYLES = ["in a formal academic tone", "as a casual text message", "for a 10-year-old", "as five bullet points",
           "in Spanish", "in French", "in German", "as a tweet under 280 characters", "more concisely", "in the passive voice",
           "as a short dialogue between two people", "in simple English for learners (CEFR A2)", "in a persuasive marketing tone",
           "as a haiku", "with more technical detail", "as a numbered how-to guide"]


def _a_paraphrase(a: Attack) -> list[ClientPlan]:
    name = a.new_name()
    rng = a.rng(name)
    vol = _volume(rng, 1500, 500, 5000, 0.6)
    net = a.ctx.nets.cloud_ip(rng)
    ua = rng.choice([_ua_js(rng), _ua_lib(rng)])
    system = "You are Rewrite Pro, a writing assistant. Rewrite the user's text exactly as instructed, preserving its meaning."
    c = a.ctx.corpora
    n = _count(vol, a.ctx.scale)
    texts: list[str] = []
    while len(texts) < n:
        passage = _passage(rng, c) if rng.random() < 0.8 else _fill(rng, rng.choice(_NOTICES))
        for style in rng.sample(_STYLES, rng.randint(3, 7)):
            texts.append(f"Rewrite the following text {style}:\n\n{passage}")
    texts = texts[:n]
    return [ClientPlan(name, "paraphrase_launderer", True, texts, network=net, user_agent=ua, turns=[2] * n, instructions=system)]


_FAMILIES: list[tuple[str, FamilyFn]] = [
    ("hydra_ring", _a_hydra), ("cot_harvester", _a_cot), ("logprob_harvester", _a_logprob),
    ("coverage_sweeper", _a_sweeper), ("self_instruct_synth", _a_self_instruct), ("low_and_slow", _a_low_slow),
    ("sybil_personas", _a_sybil), ("judge_mimic", _a_judge_mimic), ("docstring_to_code", _a_docstring_code),
    ("conversation_replayer", _a_replayer), ("key_rotation_hopper", _a_hopper), ("paraphrase_launderer", _a_paraphrase),
]

# Ordinary profiles in turn; people (as opposed to products) come round more often, as API keys of people outnumber products.
_ROTATION = [
    "casual_chat_app", "homework_student", "long_conversation", "developer_debugging", "datasci_notebook_assistant",
    "casual_chat_app", "k8s_devops_copilot", "rag_docs_bot", "writing_helper", "stepwise_math_tutor", "llm_judge_grader",
    "developer_debugging", "sql_sheet_helper", "game_npc_backend", "casual_chat_app", "accessibility_simplifier",
    "qa_testdata_generator", "homework_student", "calibration_analytics", "multilingual_support", "long_conversation",
    "writing_helper", "model_eval_team", "content_moderation", "ml_engineer", "meeting_notes_summariser",
    "consumer_app_backend",
]


# ---------------------------------------------------------------------------------------------------
# Population
# ---------------------------------------------------------------------------------------------------

_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"


def chat_holdout_f_population(ordinary: int, attackers_per_family: int, seed: int = 21019,
                              scale: float = 1.0) -> list[ClientPlan]:
    """`ordinary` ordinary clients and `attackers_per_family` attackers of each attack family."""
    master = random.Random(seed)
    ctx = Ctx(_corpora(), Nets(random.Random(f"{seed}:nets")), scale)
    used: set[str] = set()
    name_rng = random.Random(f"{seed}:names")

    def new_name() -> str:
        while True:
            name = "f-" + "".join(name_rng.choice(_ALPHABET) for _ in range(10))
            if name not in used:
                used.add(name)
                return name

    profiles = dict(_PROFILES)
    plans: list[ClientPlan] = []
    for i in range(ordinary):
        profile = _ROTATION[i % len(_ROTATION)]
        name = new_name()
        plans.append(profiles[profile](ctx, name, random.Random(f"{seed}:{name}")))
    for _family, fn in _FAMILIES:
        for k in range(attackers_per_family):
            plans += fn(Attack(ctx, seed, k, new_name))
    for p in plans:
        assert len(p.turns) == len(p.texts), p.family
    master.shuffle(plans)
    return plans
