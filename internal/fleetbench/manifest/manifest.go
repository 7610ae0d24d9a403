// Package manifest is what the fleet server (fleetsrv) tells the benchmark it serves.
package manifest

// Manifest lists the clusters of a fleet.
type Manifest struct {
	Clusters []Cluster `json:"clusters"`
}

// Cluster is one served cluster: its directory (node configs, CA) and nodes.
type Cluster struct {
	Name   string `json:"name"`
	Dir    string `json:"dir"`
	CAFile string `json:"caFile"`
	User   string `json:"user"`
	Nodes  []Node `json:"nodes"`
}

// Node is one served node.
type Node struct {
	Name         string `json:"name"`
	Addr         string `json:"addr"`     // HTTPS 127.0.0.1:port
	TFTPAddr     string `json:"tftpAddr"` // UDP 127.0.0.1:port
	Config       string `json:"config"`   // node.yaml
	FileLocation string `json:"fileLocation"`
}
