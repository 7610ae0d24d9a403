package servicesim

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/ctlops/ctlops/cucm/serviceability"
)

// maxRequest bounds a request body, as Tomcat bounds a POST.
const maxRequest = 1 << 20

// operation names the first element of a request's SOAP body.
func operation(data []byte) (xml.Name, error) {
	var env struct {
		XMLName xml.Name `xml:"http://schemas.xmlsoap.org/soap/envelope/ Envelope"`
		Body    *struct {
			Ops []struct {
				XMLName xml.Name
			} `xml:",any"`
		} `xml:"http://schemas.xmlsoap.org/soap/envelope/ Body"`
	}
	if err := xml.Unmarshal(data, &env); err != nil {
		return xml.Name{}, fmt.Errorf("not a SOAP 1.1 envelope: %v", err)
	}
	if env.Body == nil || len(env.Body.Ops) != 1 {
		return xml.Name{}, errors.New("the SOAP body must hold exactly one operation element")
	}
	return env.Body.Ops[0].XMLName, nil
}

// decodeBody unmarshals the envelope's body into body, a struct whose fields are tagged with
// the operations' local names (the children are matched by local name, qualified or not).
func decodeBody(data []byte, body any) error {
	env := struct {
		Body any `xml:"Body"`
	}{Body: body}
	return xml.Unmarshal(data, &env)
}

func readRequest(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	if r.Method != http.MethodPost {
		// Axis answers a GET on a service URL with a page; SOAP needs POST.
		w.Header().Set("Allow", "POST")
		http.Error(w, "SOAP services accept POST", http.StatusMethodNotAllowed)
		return nil, false
	}
	data, err := io.ReadAll(io.LimitReader(r.Body, maxRequest+1))
	if err != nil || len(data) > maxRequest {
		http.Error(w, "request too large", http.StatusRequestEntityTooLarge)
		return nil, false
	}
	return data, true
}

// soapAction is the SOAPAction header without its quotes.
func soapAction(r *http.Request) string {
	return strings.Trim(strings.TrimSpace(r.Header.Get("SOAPAction")), `"`)
}

// writeBody answers 200 with body (escaped XML) declaring prefix ns1 for ns, the way CUCM's
// Axis writes its answers.
func writeBody(w http.ResponseWriter, ns, body string) {
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	b.WriteString(`<soapenv:Envelope xmlns:soapenv="` + serviceability.NSEnvelope + `" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">`)
	b.WriteString(`<soapenv:Body>`)
	b.WriteString(strings.Replace(body, ">", ` xmlns:ns1="`+ns+`">`, 1))
	b.WriteString(`</soapenv:Body></soapenv:Envelope>`)
	io.WriteString(w, b.String())
}

// writeFault answers 500 with a SOAP 1.1 fault; detail is escaped XML or "".
func writeFault(w http.ResponseWriter, code, msg, detail string) {
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.WriteHeader(http.StatusInternalServerError)
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	b.WriteString(`<soapenv:Envelope xmlns:soapenv="` + serviceability.NSEnvelope + `"><soapenv:Body><soapenv:Fault>`)
	b.WriteString("<faultcode>soapenv:" + code + "</faultcode><faultstring>")
	_ = xml.EscapeText(&b, []byte(msg))
	b.WriteString("</faultstring>")
	if detail != "" {
		b.WriteString("<detail>" + detail + "</detail>")
	}
	b.WriteString(`</soapenv:Fault></soapenv:Body></soapenv:Envelope>`)
	w.Write(b.Bytes())
}

// el writes <ns1:name>escaped</ns1:name> (prefix "" for unqualified).
func el(b *strings.Builder, prefix, name, text string) {
	q := name
	if prefix != "" {
		q = prefix + ":" + name
	}
	b.WriteString("<" + q + ">")
	_ = xml.EscapeText(b, []byte(text))
	b.WriteString("</" + q + ">")
}
