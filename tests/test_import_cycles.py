"""No module of the project imports, directly or through others, a module that imports it back —
imports inside functions included (they hide cycles from a reader, not from grimp)."""
import grimp

PACKAGES = ("store", "layers", "sources", "api", "components", "dashboards", "alerts", "auth", "jobs")


def test_no_import_cycles():
    graph = grimp.build_graph(*PACKAGES)
    cycles = set()
    for module in graph.modules:
        for imported in graph.find_modules_directly_imported_by(module):
            back = graph.find_shortest_chain(importer=imported, imported=module)
            if back:
                cycles.add(" -> ".join((module, *back)))
    assert sorted(cycles) == []
