"""The shared figure style: log axes labelled in plain text."""
from trainer.plots.style import figure, log_y, power_label


def test_power_labels():
    assert power_label(1e-5) == "10\u207b\u2075"
    assert power_label(1.0) == "10\u2070"
    assert power_label(2000.0) == "2\u00d710\u00b3"
    assert power_label(0.0) == "" and power_label(float("nan")) == ""


def test_log_axes_draw_no_mathtext(monkeypatch):
    """Default log labels are mathtext ($\\mathdefault{10^{-5}}$), parsed anew at every draw;
    log_y's labels are plain text, so drawing parses nothing."""
    import matplotlib.mathtext as mathtext
    parsed = []
    original = mathtext.MathTextParser.parse
    monkeypatch.setattr(mathtext.MathTextParser, "parse",
                        lambda self, s, *a, **k: parsed.append(s) or original(self, s, *a, **k))
    fig, ax = figure((4, 3), margins=(0.6, 0.2, 0.5, 0.4, 0))
    ax.plot([1, 2, 3], [1e-6, 1e-3, 1.0])
    log_y(ax)
    fig.canvas.draw()
    labels = [t.get_text() for t in ax.get_yticklabels() if t.get_text()]
    assert "10\u207b\u00b3" in labels and not any("$" in t for t in labels)
    assert parsed == []
