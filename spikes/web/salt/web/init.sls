# nginx serving the node's name on port 80, and on web_proxy_port (scenario.yaml's vars, a pillar key)
# forwarding to the primary (orka's pillar: orka:primary).
{%- set primary = salt['pillar.get']('orka:primary') %}
{%- set port = salt['pillar.get']('web_proxy_port', 8088) %}
web-nginx:
  pkg.installed:
    - name: nginx
    - refresh: True

web-node-page:
  file.managed:
    - name: /var/www/html/index.html
    - contents: {{ grains['id'] }}
    - mode: '0644'
    - require:
      - pkg: web-nginx

web-proxy-conf:
  file.managed:
    - name: /etc/nginx/conf.d/orka-web.conf
    - mode: '0644'
    - contents: |
        server {
          listen {{ port }};
          location / { proxy_pass http://{{ primary }}:80/; }
        }
    - require:
      - pkg: web-nginx

web-nginx-running:
  service.running:
    - name: nginx
    - enable: True
    - watch:
      - file: web-proxy-conf
