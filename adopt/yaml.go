package adopt

import (
	"bytes"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/ctlops/ctlops/internal/termsafe"
	"github.com/ctlops/ctlops/spec"
)

// The spec is built as yaml.v3 nodes, never by pasting strings: a name or host from the
// cluster ("x\n    suspend: true", "a: b", "&anchor") is a double-quoted scalar whatever it
// holds, so it can only ever be the value it came as.

func key(s string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s} }

// quoted is a value from outside the process.
func quoted(s string) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s, Style: yaml.DoubleQuotedStyle}
}

func plain(s string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s} }

func integer(i int) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: strconv.Itoa(i)}
}

func mapping(flow bool, kv ...*yaml.Node) *yaml.Node {
	n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Content: kv}
	if flow {
		n.Style = yaml.FlowStyle
	}
	return n
}

func sequence(items ...*yaml.Node) *yaml.Node {
	return &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Content: items}
}

// document renders the spec. header lines become the file's leading comment.
func (c *cluster) document(header []string) ([]byte, error) {
	var cl *yaml.Node
	if c.platform != nil {
		cl = c.platformMapping()
	} else {
		cl = c.tokensMapping()
	}
	root := mapping(false,
		key("version"), integer(spec.Version),
		key("clusters"), sequence(cl),
	)
	var lines []string
	for _, h := range append(header, c.comments...) {
		lines = append(lines, termsafe.Line(h))
	}
	root.HeadComment = strings.Join(lines, "\n")
	doc := &yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{root}}
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// tokensMapping is the cluster entry of a token-signed (or read-only) cluster.
func (c *cluster) tokensMapping() *yaml.Node {
	var providers []*yaml.Node
	for _, s := range c.providers {
		switch s.kind {
		case spec.KindCTLProvider:
			providers = append(providers, mapping(true, key("host"), quoted(s.host), key("port"), integer(s.port)))
		case spec.KindTFTP:
			providers = append(providers, mapping(true, key("url"), quoted("tftp://"+joinHostPort(s.host, s.port))))
		case spec.KindDir:
			providers = append(providers, mapping(true, key("url"), quoted(dirURL(s.dir))))
		}
	}
	cl := mapping(false,
		key("name"), quoted(c.name),
		key("mode"), plain(string(c.mode)),
		key("providers"), sequence(providers...),
	)
	if c.username != "" {
		cl.Content = append(cl.Content, key("credentials"), mapping(false,
			key("username"), quoted(c.username),
			key("password"), mapping(true, key("env"), plain(c.passEnv))))
		tls := mapping(false)
		if c.caFile != "" {
			tls.Content = append(tls.Content, key("ca"), quoted(c.caFile))
		}
		if len(c.pins) > 0 {
			var pins []*yaml.Node
			for _, p := range c.pins {
				pins = append(pins, plain(p))
			}
			tls.Content = append(tls.Content, key("pin"), sequence(pins...))
		}
		cl.Content = append(cl.Content, key("tls"), tls)
	}
	var tokens []*yaml.Node
	for _, t := range c.tokens {
		n := mapping(true, key("name"), quoted(t.Name), key("certificate"), quoted(t.File))
		n.LineComment = termsafe.Line(t.Subject)
		tokens = append(tokens, n)
	}
	cl.Content = append(cl.Content, key("tokens"), sequence(tokens...))
	if c.servers != nil {
		var servers []*yaml.Node
		for _, e := range c.servers {
			n := mapping(true, key("host"), quoted(e.host))
			if e.ip != "" {
				n.Content = append(n.Content, key("ip"), quoted(e.ip))
			}
			if len(e.roles) > 0 {
				var roles []*yaml.Node
				for _, r := range e.roles {
					roles = append(roles, plain(r))
				}
				rs := sequence(roles...)
				rs.Style = yaml.FlowStyle
				n.Content = append(n.Content, key("roles"), rs)
			}
			servers = append(servers, n)
		}
		cl.Content = append(cl.Content, key("expectServers"), sequence(servers...))
	}
	return cl
}
