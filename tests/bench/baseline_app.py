"""The in-process baseline: the smallest Textual app with a tree, run under the same pty harness."""

from textual.app import App, ComposeResult
from textual.widgets import Footer, Tree


class Baseline(App[None]):
    BINDINGS = [("q", "quit", "Quit")]

    def compose(self) -> ComposeResult:
        tree: Tree[None] = Tree("Clusters")
        for i in range(20):
            tree.root.add_leaf(f"node {i}")
        tree.root.expand()
        yield tree
        yield Footer()


if __name__ == "__main__":
    Baseline().run()
