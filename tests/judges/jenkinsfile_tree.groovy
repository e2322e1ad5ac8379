// Reads a Jenkinsfile with real Groovy and prints its declarative structure as JSON: every call
// with its arguments as Groovy evaluated them (sh scripts exactly), and the calls inside its block.
// Names the file does not define (env, params, currentBuild) read as placeholders.
import groovy.json.JsonOutput

class Placeholder {
    String path
    Placeholder(String path) { this.path = path }
    def propertyMissing(String name) { new Placeholder(path + '.' + name) }
    def propertyMissing(String name, Object value) { Recorder.current.calls << [call: 'set ' + path + '.' + name, args: [String.valueOf(value)], body: []] }
    def methodMissing(String name, Object args) { new Placeholder(path + '.' + name + '()') }
    String toString() { '${' + path + '}' }
}

class Recorder {
    static Recorder current
    List calls = []
    def propertyMissing(String name) { new Placeholder(name) }
    def propertyMissing(String name, Object value) { calls << [call: 'set ' + name, args: [plain(value)], body: []] }
    def methodMissing(String name, Object args) {
        List all = (args as Object[]).toList()
        Closure block = all && all[-1] instanceof Closure ? all.remove(all.size() - 1) : null
        Map call = [call: name, args: all.collect { plain(it) }, body: []]
        calls << call
        if (block) {
            List outer = calls
            calls = call.body
            block.delegate = this
            block.resolveStrategy = Closure.DELEGATE_FIRST
            block.call()
            calls = outer
        }
        return null
    }
    static Object plain(Object value) {
        if (value instanceof Map) { return value.collectEntries { k, v -> [(k.toString()): plain(v)] } }
        if (value instanceof List) { return value.collect { plain(it) } }
        if (value instanceof Boolean || value instanceof Number || value == null) { return value }
        return value.toString()
    }
}

Recorder recorder = new Recorder()
Recorder.current = recorder
Closure file = new GroovyShell().evaluate('{ ->\n' + new File(args[0]).getText('UTF-8') + '\n}')
file.delegate = recorder
file.resolveStrategy = Closure.DELEGATE_FIRST
file.call()
System.out.print(JsonOutput.toJson(recorder.calls))
